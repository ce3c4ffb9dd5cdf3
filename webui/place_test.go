package webui

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A message goes next to its field when the page has that field, else to
// the top of the form; it is never dropped, and the messages already on
// the page stay. (Some failure paths once tested p.Errors == nil to decide
// on the alert, and so dropped a message for a field the page lacks when
// another field already had one.)
func TestPlace(t *testing.T) {
	t.Parallel()
	pr := problem{Field: "email", Msg: "Email is taken."}

	p := &page{}
	place(p, pr, "email", "password")
	assert.Equal(t, map[string]string{"email": "Email is taken."}, p.Errors)
	assert.Empty(t, p.Alert)

	p = &page{}
	place(p, pr, "password")
	assert.Empty(t, p.Errors, "the page has no email field")
	assert.Equal(t, "Email is taken.", p.Alert)

	p = &page{Errors: map[string]string{"password": "Too short."}}
	place(p, pr, "password")
	assert.Equal(t, "Email is taken.", p.Alert, "shown although another field has a message")
	assert.Equal(t, map[string]string{"password": "Too short."}, p.Errors)

	p = &page{Errors: map[string]string{"password": "Too short."}}
	place(p, pr, "email", "password")
	assert.Equal(t, map[string]string{"password": "Too short.", "email": "Email is taken."}, p.Errors, "both stay")
	assert.Empty(t, p.Alert)

	p = &page{}
	place(p, problem{Msg: "Wrong email or password."}, "email")
	assert.Equal(t, "Wrong email or password.", p.Alert, "no field: the top of the form")
	assert.Empty(t, p.Errors)
}
