package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The two mail allowances per address — anonymous flows, administrators'
// invitations — default to the library's and are set apart.
func TestLoadConfigMailLimits(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, [2]int{5, 10}, [2]int{c.MailLimitPoints, c.AdminMailLimitPoints})
	assert.Equal(t, [2]time.Duration{time.Hour, time.Hour}, [2]time.Duration{c.MailLimitDuration, c.AdminMailLimitDuration})

	c, err = loadConfig(env(map[string]string{
		"RATE_LIMITER_MAIL_POINTS":         "3",
		"RATE_LIMITER_MAIL_DURATION":       "600",
		"RATE_LIMITER_MAIL_ADMIN_POINTS":   "50",
		"RATE_LIMITER_MAIL_ADMIN_DURATION": "86400",
	}))
	require.NoError(t, err)
	assert.Equal(t, [2]int{3, 50}, [2]int{c.MailLimitPoints, c.AdminMailLimitPoints})
	assert.Equal(t, [2]time.Duration{10 * time.Minute, 24 * time.Hour}, [2]time.Duration{c.MailLimitDuration, c.AdminMailLimitDuration})

	for _, name := range []string{"RATE_LIMITER_MAIL_POINTS", "RATE_LIMITER_MAIL_DURATION", "RATE_LIMITER_MAIL_ADMIN_POINTS", "RATE_LIMITER_MAIL_ADMIN_DURATION"} {
		for _, bad := range []string{"0", "-1", "ten"} {
			_, err := loadConfig(env(map[string]string{name: bad}))
			require.Error(t, err, "%s=%s", name, bad)
			assert.Contains(t, err.Error(), name)
		}
	}
}
