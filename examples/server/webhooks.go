package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
)

// Signed web hooks: each event of the activity log is POSTed to every URL
// of WEBHOOK_URLS, signed as Standard Webhooks sign them
// (https://www.standardwebhooks.com): the headers webhook-id (the same on
// every retry of an event), webhook-timestamp (Unix seconds of the
// attempt) and webhook-signature ("v1," and the base64 HMAC-SHA256, keyed
// with the secret, of "<id>.<timestamp>.<body>"). Each URL is an event
// handler of its own ("webhook:<url>"), so the durable queue of the
// Manager retries it with backoff and delivers a user's events in order; a
// 2xx answer is a delivery, anything else (a redirect included) a failure.

var webhookSection = section{"Web hooks (Standard Webhooks; events POSTed from the durable queue)", []setting{
	{name: "WEBHOOK_URLS", help: "Comma-separated URLs every user event is POSTed to, as JSON {type: \"user.<flow>\", timestamp, data: {…}}. A URL on another host than PUBLIC_URL's (or the loopback) must be https, unless WEBHOOK_ALLOW_HTTP. Default: none. Keep a URL's spelling: it names its queue.",
		parse: func(c *config, v string) error {
			c.WebhookURLs = list(v)
			for _, u := range c.WebhookURLs {
				if err := checkHTTPURL(u); err != nil {
					return fmt.Errorf("%q: %w", u, err)
				}
			}
			return nil
		}},
	{name: "WEBHOOK_SECRET", secret: true, help: "The signing secret, Standard Webhooks' \"whsec_\" and base64 of 24 to 64 random bytes. Required with WEBHOOK_URLS.",
		parse: func(c *config, v string) (err error) { c.WebhookKey, err = webhookKey(v); return }},
	{name: "WEBHOOK_ALLOW_HTTP", def: "false", help: "Allow http:// web hook URLs on other hosts (their events and signatures then cross the network in the clear).",
		parse: func(c *config, v string) (err error) { c.WebhookAllowHTTP, err = boolean(v); return }},
}}

var retentionSection = section{"Retention (Directus's names)", []setting{
	{name: "RETENTION_ENABLED", def: "false", help: "Delete activity-log entries older than ACTIVITY_RETENTION, once an hour, in batches.",
		parse: func(c *config, v string) (err error) { c.RetentionEnabled, err = boolean(v); return }},
	{name: "ACTIVITY_RETENTION", def: "90d", help: "How long activity-log entries are kept when RETENTION_ENABLED: a duration such as 90d or 12h.",
		parse: func(c *config, v string) (err error) { c.ActivityRetention, err = duration(v); return }},
}}

// webhookKey decodes a "whsec_<base64>" secret.
func webhookKey(v string) ([]byte, error) {
	b64, ok := strings.CutPrefix(v, "whsec_")
	if !ok {
		return nil, errors.New(`must start with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New(`must be "whsec_" and standard base64`)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("must hold 24 to 64 bytes, not %d", len(key))
	}
	return key, nil
}

// checkWebhooks applies the rules between the web hook variables.
func (c *config) checkWebhooks(bad func(string, ...any)) {
	if len(c.WebhookURLs) == 0 {
		return
	}
	if c.WebhookKey == nil {
		bad("WEBHOOK_SECRET is required with WEBHOOK_URLS")
	}
	own := ""
	if u, err := url.Parse(c.PublicURL); err == nil {
		own = strings.ToLower(u.Hostname())
	}
	for _, raw := range c.WebhookURLs {
		u, _ := url.Parse(raw) // checked
		if u.Scheme == "http" && !c.WebhookAllowHTTP && !localHost(u.Hostname(), own) {
			bad("WEBHOOK_URLS: %q is on another host over http; use https, or set WEBHOOK_ALLOW_HTTP=true", raw)
		}
	}
}

// localHost reports whether host is the loopback or own (PUBLIC_URL's).
func localHost(host, own string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || host == own && own != "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// signWebhook is the webhook-signature header of a body.
func signWebhook(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookPayload is the JSON body of an event.
func webhookPayload(e users.Event) ([]byte, error) {
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return json.Marshal(map[string]any{
		"type":      "user." + e.Flow,
		"timestamp": e.Time.UTC().Format(time.RFC3339Nano),
		"data": map[string]any{
			"id": e.ID, "flow": e.Flow, "action": e.Action, "user": e.UserID, "email": orNil(e.Email),
			"role": orNil(e.Role), "actor": orNil(e.Actor), "request_id": orNil(e.RequestID),
		},
	})
}

// webhookHandlers are the event handlers of the configured URLs.
func webhookHandlers(c *config, now func() time.Time) map[string]func(context.Context, users.Event) error {
	if len(c.WebhookURLs) == 0 {
		return nil
	}
	client := &http.Client{
		// A redirect is not followed: it is a failed delivery, retried.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	out := make(map[string]func(context.Context, users.Event) error, len(c.WebhookURLs))
	for _, target := range c.WebhookURLs {
		key := c.WebhookKey
		out["webhook:"+target] = func(ctx context.Context, e users.Event) error {
			body, err := webhookPayload(e)
			if err != nil {
				return err
			}
			id := "evt_" + strconv.FormatInt(e.ID, 10)
			ts := now().Unix()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "gousers-webhooks/1")
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
			req.Header.Set("webhook-signature", signWebhook(key, id, ts, body))
			res, err := client.Do(req)
			if err != nil {
				var ue *url.Error
				if errors.As(err, &ue) {
					return fmt.Errorf("web hook: %w", ue.Err) // without the URL's query
				}
				return err
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			_ = res.Body.Close()
			if res.StatusCode < 200 || res.StatusCode > 299 {
				return fmt.Errorf("web hook answered %d", res.StatusCode)
			}
			return nil
		}
	}
	return out
}
