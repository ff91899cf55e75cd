// Package secrets seals tokens and keys at rest with AES-256-GCM.
//
// A Keyring holds one or more 32-byte keys. The first is the primary: Seal
// always uses it. Every sealed value names the key that sealed it (a short id
// derived from the key), so after a rotation, when the new key is put first
// and the old one kept behind it, old values still open; `asanajira secrets
// rotate` then re-seals them under the new key and the old one can go.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// format is the first byte of every sealed value; a new layout gets a new byte.
const format byte = 1

const idSize = 4

// ErrUnknownKey is returned by Open when the value was sealed with a key the
// keyring does not hold.
var ErrUnknownKey = errors.New("secrets: sealed with a key that is not configured")

// ErrCorrupt is returned by Open when the value is not a sealed value or was
// altered.
var ErrCorrupt = errors.New("secrets: sealed value is corrupt or was altered")

type key struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Keyring seals with its primary key and opens with any of its keys.
type Keyring struct {
	keys []key
}

// NewKeyring returns a keyring over raw 32-byte keys; the first is primary.
func NewKeyring(raw ...[]byte) (*Keyring, error) {
	if len(raw) == 0 {
		return nil, errors.New("secrets: no key given")
	}
	kr := &Keyring{}
	for i, r := range raw {
		if len(r) != KeySize {
			return nil, fmt.Errorf("secrets: key %d is %d bytes; it must be %d bytes", i+1, len(r), KeySize)
		}
		block, err := aes.NewCipher(r)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(r)
		var k key
		copy(k.id[:], sum[:idSize])
		k.aead = aead
		kr.keys = append(kr.keys, k)
	}
	return kr, nil
}

// ParseKeys parses keys written as base64 (standard or URL alphabet, padded
// or not), separated by commas, spaces or newlines; the first is primary. Its
// errors never contain key material.
func ParseKeys(s string) (*Keyring, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
	if len(fields) == 0 {
		return nil, errors.New("secrets: no key given")
	}
	raw := make([][]byte, 0, len(fields))
	for i, f := range fields {
		b, err := decodeKey(f)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %d is not base64; generate one with `asanajira secrets new-key`", i+1)
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("secrets: key %d decodes to %d bytes; it must be %d bytes of base64, generate one with `asanajira secrets new-key`", i+1, len(b), KeySize)
		}
		raw = append(raw, b)
	}
	return NewKeyring(raw...)
}

func decodeKey(s string) ([]byte, error) {
	var lastErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// NewKey returns a fresh random key, base64 encoded.
func NewKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secrets: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// LoadKeyFile reads a keyring from a file written by EnsureKeyFile or by hand.
func LoadKeyFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: read key file: %w", err)
	}
	kr, err := ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return kr, nil
}

// EnsureKeyFile loads the key file at path, creating it (mode 0600, with a
// fresh key) when it does not exist. created reports whether it did.
func EnsureKeyFile(path string) (kr *Keyring, created bool, err error) {
	kr, err = LoadKeyFile(path)
	if err == nil {
		return kr, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, err := NewKey()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("secrets: create key file: %w", err)
	}
	// O_EXCL: if another process created the file meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		kr, err = LoadKeyFile(path)
		return kr, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("secrets: create key file: %w", err)
	}
	_, werr := f.WriteString(k + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("secrets: write key file: %w", werr)
	}
	kr, err = ParseKeys(k)
	return kr, true, err
}

// PrimaryID is the id of the key Seal uses, as hex; safe to log.
func (kr *Keyring) PrimaryID() string { return hex.EncodeToString(kr.keys[0].id[:]) }

// IDs lists the ids of every key, primary first; safe to log.
func (kr *Keyring) IDs() []string {
	ids := make([]string, len(kr.keys))
	for i, k := range kr.keys {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// Seal encrypts plaintext under the primary key. The output is
// format byte | key id | nonce | ciphertext+tag; the key id and format are
// authenticated as additional data.
func (kr *Keyring) Seal(plaintext []byte) ([]byte, error) {
	k := kr.keys[0]
	header := make([]byte, 0, 1+idSize+k.aead.NonceSize())
	header = append(header, format)
	header = append(header, k.id[:]...)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	out := append(header, nonce...)
	return k.aead.Seal(out, nonce, plaintext, out[:1+idSize]), nil
}

// Open decrypts a value sealed by any key of the keyring.
func (kr *Keyring) Open(sealed []byte) ([]byte, error) {
	if len(sealed) < 1+idSize || sealed[0] != format {
		return nil, ErrCorrupt
	}
	for _, k := range kr.keys {
		if string(k.id[:]) != string(sealed[1:1+idSize]) {
			continue
		}
		ns := k.aead.NonceSize()
		if len(sealed) < 1+idSize+ns+k.aead.Overhead() {
			return nil, ErrCorrupt
		}
		nonce := sealed[1+idSize : 1+idSize+ns]
		plain, err := k.aead.Open(nil, nonce, sealed[1+idSize+ns:], sealed[:1+idSize])
		if err != nil {
			return nil, ErrCorrupt
		}
		return plain, nil
	}
	return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, hex.EncodeToString(sealed[1:1+idSize]))
}
