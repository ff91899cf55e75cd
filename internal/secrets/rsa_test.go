package secrets

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // OAuth 1.0a RSA-SHA1 is what Jira speaks
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func TestGenerateKeyPair(t *testing.T) {
	t.Parallel()
	kp, err := GenerateKeyPair(2048, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(kp.ConsumerKey, "asanajira-") || len(kp.ConsumerKey) != len("asanajira-")+16 {
		t.Fatalf("ConsumerKey = %q", kp.ConsumerKey)
	}
	privBlock, _ := pem.Decode([]byte(kp.PrivateKeyPEM))
	pubBlock, _ := pem.Decode([]byte(kp.PublicKeyPEM))
	if privBlock == nil || privBlock.Type != "PRIVATE KEY" || pubBlock == nil || pubBlock.Type != "PUBLIC KEY" {
		t.Fatalf("PEM blocks: %v %v", privBlock, pubBlock)
	}
	priv, err := x509.ParsePKCS8PrivateKey(privBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// The pair works together for an RSA-SHA1 signature, as OAuth 1.0a uses it.
	sum := sha1.Sum([]byte("base string")) //nolint:gosec // see import
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA1, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA1, sum[:], sig); err != nil {
		t.Fatalf("public key does not verify the private key's signature: %v", err)
	}
	if priv.(*rsa.PrivateKey).N.BitLen() != 2048 {
		t.Fatalf("key has %d bits", priv.(*rsa.PrivateKey).N.BitLen())
	}

	named, err := GenerateKeyPair(2048, "my-consumer")
	if err != nil || named.ConsumerKey != "my-consumer" {
		t.Fatalf("named consumer key: %q, %v", named.ConsumerKey, err)
	}
	if _, err := GenerateKeyPair(1024, ""); err == nil || !strings.Contains(err.Error(), "at least 2048") {
		t.Fatalf("1024-bit key: err = %v", err)
	}
}
