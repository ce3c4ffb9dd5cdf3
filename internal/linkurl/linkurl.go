// Package linkurl builds the links the Manager mails: a base URL with the
// token added to its query, kept otherwise as its owner wrote it; and says
// how long such a link works, in words a mail or a page can show.
package linkurl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ErrBadURL is returned by WithQueryParam for a URL it cannot extend.
var ErrBadURL = errors.New("not a valid absolute URL")

// WithQueryParam returns rawURL with key=value in its query: the link a
// verification or invite mail carries (key "token"). Every other query
// parameter is kept as written and in order, as is the fragment; a
// parameter named key is replaced. key and value are query-escaped. rawURL
// must be an absolute URL (with a host for http and https); otherwise the
// error matches ErrBadURL. The error never contains value.
func WithQueryParam(rawURL, key, value string) (string, error) {
	if key == "" {
		return "", errors.New("query parameter name is empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Opaque != "" ||
		(u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return "", ErrBadURL
	}

	// Work on the string: u.String() may re-escape the path, and
	// url.Values.Encode sorts and re-escapes the query, while the link must
	// keep the URL as its owner wrote it.
	base, frag, hasFrag := strings.Cut(rawURL, "#")
	base, query, _ := strings.Cut(base, "?")
	ek := url.QueryEscape(key)
	ev := url.QueryEscape(value)

	var b strings.Builder
	b.Grow(len(rawURL) + len(ek) + len(ev) + 3)
	b.WriteString(base)
	b.WriteByte('?')
	for query != "" {
		var param string
		param, query, _ = strings.Cut(query, "&")
		if param == "" {
			continue
		}
		name, _, _ := strings.Cut(param, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == key {
			continue
		}
		b.WriteString(param)
		b.WriteByte('&')
	}
	b.WriteString(ek)
	b.WriteByte('=')
	b.WriteString(ev)
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String(), nil
}

// ValidFor says how long a link works in English words: "1 hour",
// "7 days", "30 minutes", in the largest unit that divides d; d.String()
// when d is not a whole number of minutes.
func ValidFor(d time.Duration) string {
	unit := func(n time.Duration, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case d <= 0:
		return d.String()
	case d%(24*time.Hour) == 0:
		return unit(d/(24*time.Hour), "day")
	case d%time.Hour == 0:
		return unit(d/time.Hour, "hour")
	case d%time.Minute == 0:
		return unit(d/time.Minute, "minute")
	}
	return d.String()
}
