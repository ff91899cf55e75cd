package secrets

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// MinRSABits is the smallest RSA key asanajira generates or accepts for an
// application link.
const MinRSABits = 2048

// KeyPair is an RSA key pair for a Jira application link: Jira gets the
// public key, asanajira signs OAuth 1.0a requests with the private one.
type KeyPair struct {
	ConsumerKey   string
	PrivateKeyPEM string // PKCS #8
	PublicKeyPEM  string // PKIX, what Jira's "Public Key" field takes
}

// GenerateKeyPair returns a fresh RSA key pair of bits bits and, when
// consumerKey is empty, a new consumer key of the form asanajira-<hex>.
func GenerateKeyPair(bits int, consumerKey string) (KeyPair, error) {
	if bits < MinRSABits {
		return KeyPair{}, fmt.Errorf("secrets: RSA keys must have at least %d bits, got %d", MinRSABits, bits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return KeyPair{}, fmt.Errorf("secrets: generate RSA key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("secrets: encode private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("secrets: encode public key: %w", err)
	}
	if consumerKey == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return KeyPair{}, fmt.Errorf("secrets: consumer key: %w", err)
		}
		consumerKey = "asanajira-" + hex.EncodeToString(b)
	}
	return KeyPair{
		ConsumerKey:   consumerKey,
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		PublicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}, nil
}
