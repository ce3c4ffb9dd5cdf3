package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
)

// prepareHTTPOnly readies the operations that measure a server's routes:
// list (a page of 50 users, as an administrator's console asks, on a
// server holding -list-users users) and me (the caller's own user,
// authenticated by an access token: the Bearer middleware's cost).
func (d *httpDriver) prepareHTTPOnly(ctx context.Context, op string, c int) (opFunc, error) {
	if err := d.needAdmin(op); err != nil {
		return nil, err
	}
	pw := d.cfg.Password
	switch op {
	case opList:
		if err := d.fillUsers(ctx, d.cfg.ListUsers, c); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			return d.call(ctx, http.MethodGet, "/users?limit=50", nil, true, nil)
		}, nil
	case opMe:
		tokens := make([]string, loginUserCount(c))
		for i := range tokens {
			e := d.seq.next()
			if err := d.call(ctx, http.MethodPost, "/users", map[string]any{"email": e, "password": pw, "status": "active", "role": d.role}, true, nil); err != nil {
				return nil, fmt.Errorf("create user: %w", err)
			}
			var login struct {
				Data struct {
					AccessToken string `json:"access_token"`
				} `json:"data"`
			}
			if err := d.call(ctx, http.MethodPost, "/auth/login", map[string]any{"email": e, "password": pw}, false, &login); err != nil {
				return nil, fmt.Errorf("log in: %w", err)
			}
			if login.Data.AccessToken == "" {
				return nil, fmt.Errorf("POST /auth/login gave no access_token (does the server issue access tokens?)")
			}
			tokens[i] = login.Data.AccessToken
		}
		var i atomic.Uint64
		return func(ctx context.Context) error {
			tok := tokens[i.Add(1)%uint64(len(tokens))]
			status, b, err := d.sendAs(ctx, http.MethodGet, "/users/me", nil, tok)
			if err == nil && status != http.StatusOK {
				err = statusError(http.MethodGet, "/users/me", status, b)
			}
			return err
		}, nil
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

// fillUsers creates users (POST /users, c at a time) until the server
// holds at least n, as its total_count says.
func (d *httpDriver) fillUsers(ctx context.Context, n, c int) error {
	var page struct {
		Meta struct {
			TotalCount *int `json:"total_count"`
		} `json:"meta"`
	}
	if err := d.call(ctx, http.MethodGet, "/users?limit=1&meta=total_count", nil, true, &page); err != nil {
		return err
	}
	if page.Meta.TotalCount == nil {
		return fmt.Errorf("GET /users?meta=total_count gave no total_count: the server cannot say how many users it holds")
	}
	missing := n - *page.Meta.TotalCount
	if missing <= 0 {
		return nil
	}
	return parallelHTTP(ctx, c, missing, func(ctx context.Context) error {
		return d.callShed(ctx, http.MethodPost, "/users", map[string]any{"email": d.seq.next(), "password": d.cfg.Password, "status": "active"}, true)
	})
}
