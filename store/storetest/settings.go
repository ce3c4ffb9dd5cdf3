package storetest

import (
	"bytes"
)

// ---------------------------------------------------------------------------
// Settings

func settingsNoneSaved(f *fixture) {
	doc, err := f.s.Settings(f.ctx)
	if err != nil || doc != nil {
		f.Errorf("Settings before any SaveSettings = %q, %v; want nil, nil", doc, err)
	}
}

// The document is opaque: it comes back byte for byte, spacing and key
// order included (a back-end must not store it as normalised JSON).
func settingsRoundTrip(f *fixture) {
	doc := []byte("{\"public_registration\": true,\n  \"b\":1, \"a\" : [1,2],\"name\":\"Zoë ✓\"}\n")
	if err := f.s.SaveSettings(f.ctx, doc); err != nil {
		f.Fatalf("SaveSettings: %v", err)
	}
	got, err := f.s.Settings(f.ctx)
	if err != nil {
		f.Fatalf("Settings: %v", err)
	}
	if !bytes.Equal(got, doc) {
		f.Errorf("Settings = %q, want %q", got, doc)
	}
}

func settingsReplace(f *fixture) {
	for _, doc := range []string{`{"public_registration":true,"public_registration_role":"x"}`, `{}`, `{"public_registration":false}`} {
		if err := f.s.SaveSettings(f.ctx, []byte(doc)); err != nil {
			f.Fatalf("SaveSettings: %v", err)
		}
		got, err := f.s.Settings(f.ctx)
		if err != nil {
			f.Fatalf("Settings: %v", err)
		}
		if string(got) != doc {
			f.Errorf("Settings after saving %s = %s", doc, got)
		}
	}
}
