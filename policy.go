package users

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/internal/validate"
)

// PasswordPolicy is a compiled password rule: a regular expression a new
// password must match. It accepts the ECMAScript syntax Directus uses —
// lookaheads included — either bare or in slashes with flags
// (`/^.{8,}$/`, `/(?=^.{8,}$)(?=.*\d)…/`), and evaluates it with a
// backtracking engine, whose cost is bounded three ways:
//
//   - a password is checked under the hashing limit (Limits.HashConcurrency),
//     before it is hashed, so a flood of requests never runs more policy
//     checks at once than hashes;
//   - a check gives its answer within 100 ms: past that the password is
//     refused as not matching (the engine's own timeout is checked only
//     every 100 ms, so the check runs beside the caller, which stops
//     waiting at 100 ms; the engine gives up on its own shortly after, and
//     the hashing slot stays taken until it has);
//   - Manager.UpdateSettings refuses a policy that takes more than 25 ms
//     (three times in a row, so that a busy machine does not refuse a
//     good policy) on any of a fixed set of adversarial passwords (runs of one
//     character, or of two, up to the 1024-byte limit, each alone and
//     followed by a character that breaks the run), built from the
//     characters of the pattern itself and a few of each class. The
//     presets take well under a millisecond on each; nested quantifiers
//     such as `^(a|aa)+$` or `^(\w+\s?)*$` take seconds.
type PasswordPolicy struct {
	src string
	re  *regexp2.Regexp
}

// Directus's two presets, accepted as they are.
const (
	PasswordPolicyMinLength = `/^.{8,}$/`
	PasswordPolicyStrong    = `/(?=^.{8,}$)(?=.*\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[!@#$%^&*()_+}{';'?>.<,])(?!.*\s).*$/`
)

// What a refused password's error says for each preset, unless the
// settings give another description.
const (
	descriptionMinLength = "at least 8 characters"
	descriptionStrong    = "at least 8 characters, with a lower-case letter, an upper-case letter, a digit and one of !@#$%^&*()_+}{';'?>.<, and no white space"
)

const (
	maxPolicyLen          = 1024
	maxPolicyDescription  = 200
	policyMatchLimit      = 100 * time.Millisecond
	policyProbeLimit      = 25 * time.Millisecond
	policyProbeCap        = 40   // a probe stops at policyProbeCap × policyProbeLimit (1 s)
	policyProbeRatio      = 5000 // see probe
	maxPolicyProbeClasses = 24
)

var slashForm = regexp.MustCompile(`^/(.*)/([a-z]*)$`)

// ParsePasswordPolicy compiles a password policy. The error is a
// *ValidationError for the field "auth_password_policy"; it never repeats
// more of the expression than the engine's own message does.
func ParsePasswordPolicy(src string) (*PasswordPolicy, error) {
	bad := func(reason string) error { return invalid("auth_password_policy", reason) }
	if strings.TrimSpace(src) == "" {
		return nil, bad("must not be empty (use null for no policy)")
	}
	if len(src) > maxPolicyLen {
		return nil, bad("must be at most 1024 characters")
	}
	if !utf8.ValidString(src) || strings.ContainsRune(src, 0) {
		return nil, bad("must be valid UTF-8 without NUL characters")
	}
	pattern, opts := src, regexp2.RegexOptions(regexp2.ECMAScript)
	if m := slashForm.FindStringSubmatch(src); m != nil {
		pattern = m[1]
		for _, f := range m[2] {
			switch f {
			case 'i':
				opts |= regexp2.IgnoreCase
			case 'm':
				opts |= regexp2.Multiline
			case 'u', 'g', 'y', 's':
				// u: our input is already Unicode; g, y: no meaning for a
				// whole-string test; s: ECMAScript dotAll — approximate with
				// Singleline.
				if f == 's' {
					opts |= regexp2.Singleline
				}
			default:
				return nil, bad(fmt.Sprintf("has an unknown flag %q", f))
			}
		}
	}
	re, err := regexp2.Compile(pattern, opts)
	if err != nil {
		return nil, bad("is not a valid regular expression: " + echo.Cut(err.Error()))
	}
	re.MatchTimeout = policyMatchLimit
	return &PasswordPolicy{src: src, re: re}, nil
}

// Match reports whether password satisfies the policy. A match that runs
// past the time limit (100 ms) counts as no match; Match then returns at
// the limit, while the engine stops on its own shortly after.
func (p *PasswordPolicy) Match(password string) bool {
	ok, _ := p.matchWithin(password, policyMatchLimit, nil)
	return ok
}

// matchWithin runs the match beside the caller and waits for it at most
// limit. When the limit passes first it returns (false, true), and late,
// if not nil, is called once the abandoned match has stopped.
func (p *PasswordPolicy) matchWithin(password string, limit time.Duration, late func()) (ok, timedOut bool) {
	return within(func() bool { return p.matchNow(password) }, limit, late)
}

// matchNow runs the match on the caller's goroutine, up to the engine's
// own (coarse) timeout.
func (p *PasswordPolicy) matchNow(password string) bool {
	ok, err := p.re.MatchString(password)
	return err == nil && ok
}

// within runs f beside the caller and waits for it at most limit: (f's
// answer, false), or (false, true) when the limit passes first; then late,
// if not nil, is called once f has returned.
func within(f func() bool, limit time.Duration, late func()) (ok, timedOut bool) {
	done := make(chan bool, 1)
	go func() { done <- f() }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case ok := <-done:
		return ok, false
	case <-t.C:
		if late != nil {
			go func() {
				<-done
				late()
			}()
		}
		return false, true
	}
}

// String returns the policy as it was given.
func (p *PasswordPolicy) String() string { return p.src }

// Description is what a refused password's error says for this policy
// when the settings give no description: the preset's description, or ""
// for any other policy.
func (p *PasswordPolicy) Description() string {
	switch p.src {
	case PasswordPolicyMinLength, strings.Trim(PasswordPolicyMinLength, "/"):
		return descriptionMinLength
	case PasswordPolicyStrong, strings.Trim(PasswordPolicyStrong, "/"):
		return descriptionStrong
	}
	return ""
}

// MarshalJSON encodes the policy as its source string.
func (p *PasswordPolicy) MarshalJSON() ([]byte, error) { return json.Marshal(p.src) }

// UnmarshalJSON decodes and compiles a policy string.
func (p *PasswordPolicy) UnmarshalJSON(b []byte) error {
	var src string
	if err := json.Unmarshal(b, &src); err != nil {
		return invalid("auth_password_policy", "must be a string")
	}
	q, err := ParsePasswordPolicy(src)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// probe runs the policy on the adversarial passwords and refuses it when,
// on one of them, it takes longer than policyProbeLimit and as long as more
// than policyProbeRatio runs of a linear reference expression on the same
// password, counted in the same wall time right after it (or does not
// finish within that many runs' worth, as measured before). A busy
// machine slows both alike, so a policy that is merely long (several
// lookaheads over the password) passes however loaded the machine is,
// while one that backtracks exponentially is worth thousands of reference
// runs and is refused. Directus's two presets are known to be linear and
// are not probed.
func (p *PasswordPolicy) probe() error {
	switch p.src {
	case PasswordPolicyMinLength, PasswordPolicyStrong:
		return nil
	}
	q, err := ParsePasswordPolicy(p.src) // its own copy, with its own timeout
	if err != nil {
		return err
	}
	probes := policyProbes(p.src)
	ref := regexp2.MustCompile(`^(?=.*\d).{8,}$`, regexp2.ECMAScript)
	// What one reference run costs on this machine now, over 20 ms of
	// them: a probe that runs longer than policyProbeRatio of those is
	// stopped (at least policyProbeCap × policyProbeLimit).
	n, t0 := 0, time.Now()
	for time.Since(t0) < 20*time.Millisecond {
		_, _ = ref.MatchString(probes[0])
		n++
	}
	re := q.re
	re.MatchTimeout = max(policyProbeLimit*policyProbeCap, policyProbeRatio*(time.Since(t0)/time.Duration(n)))
	timed := func(r *regexp2.Regexp, in string) (time.Duration, error) {
		t0 := time.Now()
		_, err := r.MatchString(in)
		return time.Since(t0), err
	}
	slow := func(in string) bool {
		d, err := timed(re, in)
		switch {
		case err != nil:
			return true // it did not finish within the cap, loaded or not
		case d <= policyProbeLimit:
			return false
		}
		// How many times the reference runs on the same password in as
		// much wall time, on the machine as loaded as it is now: a policy
		// worth more than policyProbeRatio of them is slow. (Timing one run
		// of the reference would not do: a short run slips between the
		// scheduler's time slices and looks fast on a loaded machine.)
		n, end := 0, time.Now().Add(d)
		for n <= policyProbeRatio && time.Now().Before(end) {
			_, _ = ref.MatchString(in)
			n++
		}
		return n > policyProbeRatio
	}
	for _, in := range probes {
		// A probe found slow is tried once more, and only a policy slow
		// both times is refused.
		if slow(in) && slow(in) {
			return invalid("auth_password_policy", fmt.Sprintf(
				"is too slow to evaluate: it takes more than %v on some passwords (nested repetition such as (a+)+ or (a|aa)+ makes a regular expression backtrack exponentially)",
				policyProbeLimit))
		}
	}
	return nil
}

// policyProbes returns the adversarial passwords a policy is tried on:
// for each of the pattern's own characters (at most 24) and one of each
// class (lower, upper, digit, space, punctuation, control, non-ASCII), a
// run up to the password limit, alone and followed by a character that
// breaks it; and runs of each pair of adjacent characters of the pattern
// (for alternations such as (ab|a)*).
func policyProbes(src string) []string {
	classes := []rune{'a', 'A', '0', ' ', '!', '\x01', 'é', '\n'}
	seen := map[rune]bool{}
	var chars []rune
	add := func(r rune) {
		if !seen[r] && len(chars) < maxPolicyProbeClasses+len(classes) {
			seen[r] = true
			chars = append(chars, r)
		}
	}
	for _, r := range classes {
		add(r)
	}
	var pattern []rune
	for _, r := range src {
		if unicode.IsGraphic(r) && !strings.ContainsRune(`\/()[]{}^$|?*+`, r) {
			pattern = append(pattern, r)
			add(r)
		}
	}
	tails := []string{"", "!", " ", "\x01"}
	var out []string
	run := func(unit string) {
		for _, tail := range tails {
			n := (maxPassBytes - len(tail)) / len(unit)
			out = append(out, strings.Repeat(unit, n)+tail)
		}
	}
	for _, r := range chars {
		run(string(r))
	}
	pairs := map[string]bool{}
	for i := 0; i+1 < len(pattern) && len(pairs) < maxPolicyProbeClasses; i++ {
		if pair := string(pattern[i : i+2]); !pairs[pair] && pattern[i] != pattern[i+1] {
			pairs[pair] = true
			run(pair)
		}
	}
	return out
}

// validatePolicyDescription checks the description of a password policy:
// it is shown in errors and on web pages, so it is one line of visible
// text.
func validatePolicyDescription(d string) error {
	if utf8.RuneCountInString(d) > maxPolicyDescription {
		return invalid("auth_password_policy_description", fmt.Sprintf("must be at most %d characters", maxPolicyDescription))
	}
	if reason := validate.Text(d); reason != "" {
		return invalid("auth_password_policy_description", reason)
	}
	return nil
}

// policyError is the error for a password the policy refuses: it shows
// the policy's description (the settings', else the preset's), never the
// expression, which means little to the person who typed the password.
func (s *Settings) policyError() error {
	reason := "doesn't match the password policy"
	d := s.PasswordPolicyDescription
	if d == "" && s.PasswordPolicy != nil {
		d = s.PasswordPolicy.Description()
	}
	if d != "" {
		reason += ": " + d
	}
	return &ValidationError{Field: "password", Reason: reason, Err: ErrPasswordPolicy}
}
