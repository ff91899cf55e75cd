package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustKeyring(t *testing.T, keys ...string) *Keyring {
	t.Helper()
	kr, err := ParseKeys(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	kr := mustKeyring(t, k)
	for _, plain := range []string{"", "pat-alice", strings.Repeat("x", 10000)} {
		sealed, err := kr.Seal([]byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		if plain != "" && bytes.Contains(sealed, []byte(plain)) {
			t.Fatalf("sealed value contains the plaintext")
		}
		got, err := kr.Open(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != plain {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	t.Parallel()
	k, _ := NewKey()
	kr := mustKeyring(t, k)
	a, _ := kr.Seal([]byte("same"))
	b, _ := kr.Seal([]byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce reuse")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, _ := NewKey()
	newKey, _ := NewKey()
	before := mustKeyring(t, oldKey)
	sealed, err := before.Seal([]byte("token"))
	if err != nil {
		t.Fatal(err)
	}
	after := mustKeyring(t, newKey, oldKey)
	got, err := after.Open(sealed)
	if err != nil || string(got) != "token" {
		t.Fatalf("old value under rotated keyring: %q, %v", got, err)
	}
	resealed, err := after.Seal(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustKeyring(t, newKey).Open(resealed); err != nil {
		t.Fatalf("re-sealed value does not open with the new key alone: %v", err)
	}
	if _, err := mustKeyring(t, newKey).Open(sealed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old value with the old key removed: err = %v, want ErrUnknownKey", err)
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	t.Parallel()
	k, _ := NewKey()
	kr := mustKeyring(t, k)
	sealed, _ := kr.Seal([]byte("token"))
	tests := map[string][]byte{
		"empty":          {},
		"short":          sealed[:3],
		"wrong format":   append([]byte{9}, sealed[1:]...),
		"flipped byte":   func() []byte { b := bytes.Clone(sealed); b[len(b)-1] ^= 1; return b }(),
		"truncated body": sealed[:len(sealed)-20],
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := kr.Open(in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestParseKeysErrors(t *testing.T) {
	t.Parallel()
	secret := "c2hvcnQta2V5LXRoYXQtbXVzdC1ub3QtbGVhaw" // "short-key-that-must-not-leak"
	tests := map[string]struct {
		in   string
		want string
	}{
		"empty":      {"", "no key given"},
		"not base64": {"%%%not-base64%%%", "key 1 is not base64"},
		"too short":  {secret, "key 1 decodes to 28 bytes; it must be 32 bytes"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseKeys(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if tc.in != "" && strings.Contains(err.Error(), tc.in) {
				t.Fatalf("error repeats the key material: %v", err)
			}
		})
	}
}

func TestEnsureKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "asanajira.key")
	kr, created, err := EnsureKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first EnsureKeyFile: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := EnsureKeyFile(path)
	if err != nil || created {
		t.Fatalf("second EnsureKeyFile: created=%v err=%v", created, err)
	}
	if again.PrimaryID() != kr.PrimaryID() {
		t.Fatal("second EnsureKeyFile returned a different key")
	}
	if err := os.WriteFile(path, []byte("dG9vLXNob3J0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EnsureKeyFile(path); err == nil || !strings.Contains(err.Error(), "must be 32 bytes") {
		t.Fatalf("bad key file: err = %v", err)
	}
}
