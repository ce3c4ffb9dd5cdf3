package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// Policies whose backtracking explodes on some passwords are refused when
// saved; the presets and ordinary policies are accepted. The slow ones are
// saved as many at once as there are processors: each refusal spends
// about two seconds running its probes to their time limit.
func TestSlowPasswordPolicyRefusedOnSave(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slow := []string{`/^(a|aa)+$/`, `/^(a+)+$/`, `^(\w+\s?)*$`, `(x+x+)+y`, `/^([a-zA-Z0-9]+)*$/`}
	errs := make([]error, len(slow))
	var wg sync.WaitGroup
	procs := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, src := range slow {
		p, err := users.ParsePasswordPolicy(src)
		require.NoError(t, err, "it compiles: %s", src)
		s := users.DefaultSettings()
		s.PasswordPolicy = p
		wg.Go(func() {
			procs <- struct{}{}
			defer func() { <-procs }()
			_, errs[i] = e.m.UpdateSettings(e.ctx, s)
		})
	}
	wg.Wait()
	for i, src := range slow {
		requireField(t, errs[i], "auth_password_policy", users.ErrInvalidPayload)
		assert.Contains(t, errs[i].Error(), "too slow", src)
	}
	got, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Nil(t, got.PasswordPolicy, "nothing saved")
	for _, src := range []string{users.PasswordPolicyMinLength, users.PasswordPolicyStrong, `^(?=.*[A-Z])(?=.*\d).{12,}$`, `/^[^\s]{10,64}$/i`, `^[A-Za-z0-9!@#$%^&*]{8,64}$`} {
		p, err := users.ParsePasswordPolicy(src)
		require.NoError(t, err, src)
		s := users.DefaultSettings()
		s.PasswordPolicy = p
		_, err = e.m.UpdateSettings(e.ctx, s)
		require.NoError(t, err, src)
	}
}

// A refused password's error gives the policy's description — the
// settings', or the preset's — never the expression; a custom policy
// without a description says only that the password doesn't match.
func TestPasswordPolicyErrorShowsTheDescription(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	try := func(policy, description, want string) {
		t.Helper()
		p, err := users.ParsePasswordPolicy(policy)
		require.NoError(t, err)
		e.open(func(s *users.Settings) { s.PasswordPolicy, s.PasswordPolicyDescription = p, description })
		for _, call := range []func() error{
			func() error { return e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "Zq1"}) },
			func() error {
				_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "b@example.com", Password: "Zq1"})
				return err
			},
		} {
			err := call()
			requireField(t, err, "password", users.ErrPasswordPolicy)
			var ve *users.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, want, ve.Message())
			assert.NotContains(t, err.Error(), strings.Trim(policy, "/"), "never the expression")
			assert.NotContains(t, err.Error(), "Zq1", "never the password")
		}
	}
	try(users.PasswordPolicyMinLength, "", `"password" doesn't match the password policy: at least 8 characters`)
	try(users.PasswordPolicyStrong, "", `"password" doesn't match the password policy: at least 8 characters, with a lower-case letter, an upper-case letter, a digit and one of !@#$%^&*()_+}{';'?>.<, and no white space`)
	try(`^.{12,}$`, "", `"password" doesn't match the password policy`)
	try(`^.{12,}$`, "at least 12 characters", `"password" doesn't match the password policy: at least 12 characters`)
	try(users.PasswordPolicyMinLength, "eight or more", `"password" doesn't match the password policy: eight or more`)

	// The description is one line of visible text, at most 200 characters.
	for _, bad := range []string{"a\nb", "x\u202ey", strings.Repeat("d", 201)} {
		s := users.DefaultSettings()
		s.PasswordPolicyDescription = bad
		_, err := e.m.UpdateSettings(e.ctx, s)
		requireField(t, err, "auth_password_policy_description", users.ErrInvalidPayload)
	}
	// And it is kept in the settings document.
	got, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	doc, err := json.Marshal(got)
	require.NoError(t, err)
	assert.Contains(t, string(doc), `"auth_password_policy_description":"eight or more"`)
}

// A policy whose match runs away (saved before policies were probed, or
// slow only on passwords the probes do not try) refuses the password at
// its time limit, and the abandoned match keeps its hashing slot until it
// stops, so that such matches never outnumber the slots.
func TestRunawayPolicyHoldsItsSlot(t *testing.T) {
	t.Parallel()
	h := &holdHasher{entered: make(chan struct{}, 8)}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 0 }))
	e.open()
	// Saved as an older version would have: straight into the store.
	s := users.DefaultSettings()
	s.PublicRegistration = true
	doc, err := json.Marshal(s)
	require.NoError(t, err)
	doc = []byte(strings.Replace(string(doc), `"auth_password_policy":null`, `"auth_password_policy":"/^(a|aa)+$/"`, 1))
	require.NoError(t, e.store.SaveSettings(e.ctx, doc))

	err = e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: strings.Repeat("a", 60) + "!"})
	requireField(t, err, "password", users.ErrPasswordPolicy)
	want := 1
	if running, _ := users.HashGateLoad(e.m); running == 1 {
		// The abandoned match still runs (unless it ends right now): the
		// one slot is taken.
		if err := e.m.Register(e.ctx, users.RegisterInput{Email: "b@example.com", Password: "aaaa"}); err == nil {
			want++
		} else {
			require.ErrorIs(t, err, users.ErrBusy)
		}
	}
	waitForLoad(t, e.m, 0, 0)
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "aaaa"}), "the slot came back")
	assert.Len(t, e.allUsers(), want)
}

// The policy is checked under the hashing limit: with every slot taken and
// no queue, a password the policy refuses gets ErrBusy, not the policy's
// answer, so a flood of requests never runs more policy checks than
// hashes. Checked against the old order (policy first): this test failed
// with ErrPasswordPolicy.
func TestPolicyCheckedUnderTheHashingLimit(t *testing.T) {
	t.Parallel()
	h := &holdHasher{entered: make(chan struct{}, 8)}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 0 }))
	p, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p })
	release := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unhold) // frees whatever is still held when the test fails
	h.hold.Store(&release)
	done := make(chan error, 1)
	go func() {
		done <- e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "long enough"})
	}()
	testenv.Receive(t, h.entered, testenv.WaitLimit, "a never reached the hasher")

	err = refusedAtOnce(t, "Register b", func() error {
		return e.m.Register(e.ctx, users.RegisterInput{Email: "b@example.com", Password: "short"})
	})
	require.ErrorIs(t, err, users.ErrBusy)
	err = refusedAtOnce(t, "Create c", func() error {
		_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "c@example.com", Password: "short"})
		return err
	})
	require.ErrorIs(t, err, users.ErrBusy)
	var be *users.BusyError
	require.ErrorAs(t, err, &be)

	unhold()
	require.NoError(t, testenv.Receive(t, done, testenv.WaitLimit, "a did not finish once the hasher was released"))
	h.hold.Store(nil)
	err = e.m.Register(e.ctx, users.RegisterInput{Email: "b@example.com", Password: "short"})
	requireField(t, err, "password", users.ErrPasswordPolicy)
}

// BenchmarkRunawayPolicy measures how long a password check takes against
// a policy that backtracks without end (saved before policies were probed):
// the check's 100 ms limit, where the engine's own timeout, checked every
// 100 ms, took 200 ms.
func BenchmarkRunawayPolicy(b *testing.B) {
	st := memstore.New()
	m, err := users.New(st, memmailer.New(), users.WithHasher(userstest.Hasher{}), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 64, 64 }), quiet)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s := users.DefaultSettings()
	s.PublicRegistration = true
	doc, _ := json.Marshal(s)
	doc = []byte(strings.Replace(string(doc), `"auth_password_policy":null`, `"auth_password_policy":"/^(a|aa)+$/"`, 1))
	if err := st.SaveSettings(ctx, doc); err != nil {
		b.Fatal(err)
	}
	in := users.RegisterInput{Email: "a@example.com", Password: strings.Repeat("a", 60) + "!"}
	var worst time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := m.Register(ctx, in); !errors.Is(err, users.ErrPasswordPolicy) {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// A policy that is merely long to evaluate (a lookahead that scans the
// rest of the password) is accepted when saved even while the machine is
// busy: the save-time probe compares it with a linear reference timed
// beside it, so load that slows both does not refuse it. The policy (no
// '~', or a '~' followed somewhere by a digit) scans the rest of the
// password from every '~' when no digit follows: quadratic on the few
// probes made mostly of '~'s, past the probe's 25 ms on a busy machine,
// and fast on the others, so that the test costs a second or two, not a
// minute. A timing test: the race detector slows the two unevenly.
//
// Checked against the protection: with the probe refusing every policy
// slower than 25 ms on a probe, whatever the reference, the save was
// refused and the test failed.
func TestPolicyProbeTimingOnBusyMachine(t *testing.T) {
	testenv.SkipTiming(t)
	e := newEnv(t)
	stop := make(chan struct{})
	var wg, started sync.WaitGroup
	for range 2 * runtime.NumCPU() {
		started.Add(1)
		wg.Go(func() {
			started.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 1e5; i++ {
					_ = i * i
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	// Every spinner runs before the probe is timed: a probe that starts
	// first runs alone for its first time slices (15 ms for 1,024 '~'s on a
	// fast day, under the limit, and the test would prove nothing).
	started.Wait()
	time.Sleep(20 * time.Millisecond)
	src := `/^[^~]*$|~.*\d/`
	p, err := users.ParsePasswordPolicy(src)
	require.NoError(t, err)
	// The probe of '~'s takes longer than the probe's limit, as the
	// machine is now: a fixed limit alone would refuse the policy.
	t0 := time.Now()
	p.Match(strings.Repeat("~", 1024))
	require.Greater(t, time.Since(t0), users.PolicyProbeLimit, "the policy is slow on some probe, or this test proves nothing")
	s := users.DefaultSettings()
	s.PasswordPolicy = p
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.NoError(t, err, "a policy that is slow only because the machine is busy is accepted")
}
