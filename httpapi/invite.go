package httpapi

import (
	"net/http"
	"strings"

	"github.com/gousers/users"
)

// invite (admin): POST /users/invite {email: string | [string], role,
// invite_url?} → 204.
func (h *handler) invite(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var in users.InviteInput
	var errs [4]error
	errs[0] = p.only("email", "role", "invite_url")
	in.Emails, _, errs[1] = p.strOrList("email")
	in.Role, _, errs[2] = p.str("role")
	in.InviteURL, _, errs[3] = p.str("invite_url")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, e := range in.Emails {
		if err := noControl("email", strings.TrimSpace(e)); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	results, err := h.m.Invite(r.Context(), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// An address over the mail limit was invited (or re-invited) but not
	// mailed. When that is every address, the caller learns it (429, with
	// when to retry); when only some are held, Directus's 204 stands and
	// the log says how many (never which: they are email addresses).
	// Accounts an invitation took over (never verified, perhaps registered
	// by someone else) are counted in the log too.
	var (
		held      []error
		converted int
	)
	for _, res := range results {
		if res.Err != nil {
			held = append(held, res.Err)
		}
		if res.Outcome == users.InviteConverted {
			converted++
		}
	}
	if converted > 0 {
		h.cfg.log.InfoContext(r.Context(), "httpapi: invitations took over accounts that were never verified",
			"converted", converted, "addresses", len(results))
	}
	switch {
	case len(held) > 0 && len(held) == len(results):
		h.writeError(w, r, held[0])
		return
	case len(held) > 0:
		h.cfg.log.WarnContext(r.Context(), "httpapi: invite mails held back by the mail limit",
			"held", len(held), "addresses", len(results))
	}
	noContent(w)
}

// acceptInvite: POST /users/invite/accept {token, password} → 204.
func (h *handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	token, password, err := h.decodeTokenPassword(w, r)
	if err == nil {
		_, err = h.m.AcceptInvite(r.Context(), token, password)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}
