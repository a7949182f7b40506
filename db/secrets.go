package db

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// SecretKeySize is the size of the server's secret key: AES-256.
const SecretKeySize = 32

// sealVersion starts every sealed value, so a later key scheme can be told
// apart from this one.
const sealVersion = 1

// Sealer encrypts secrets that the service must read back in plaintext
// (webhook signing keys: HMAC needs the key itself, so a hash will not do)
// with AES-256-GCM under the server's secret key. Each sealed value is
// bound to its row by additional data, so a ciphertext copied into another
// row or workspace does not open.
//
// The key comes from configuration (cmd reads CRMHUB_SECRET_KEY, base64 of
// 32 random bytes; NewSecretKey makes one). Losing it makes every stored
// webhook secret unusable: endpoints then need their secrets rotated.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a sealer under a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("db: secret key must be %d bytes, got %d", SecretKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("db: secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("db: secret key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// ParseSecretKey decodes a secret key given as base64 (standard or URL
// alphabet, padded or not) and checks its size.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != SecretKeySize {
				return nil, fmt.Errorf("db: secret key must decode to %d bytes, got %d", SecretKeySize, len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("db: secret key is not base64")
}

// NewSecretKey returns a fresh random secret key, base64-encoded, for an
// operator to put in the configuration.
func NewSecretKey() string {
	var b [SecretKeySize]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// NewDevSealer returns a sealer under a fixed, publicly known key. It is for
// development and tests only, and only when explicitly asked for: secrets it
// seals are as good as plaintext to anyone who reads this source. Production
// configuration must set a real key; nothing falls back to this one.
func NewDevSealer() *Sealer {
	key := sha256.Sum256([]byte("crmhub development secret key; never use in production"))
	s, _ := NewSealer(key[:])
	return s
}

// rowAAD is the additional data that binds a sealed value to one row of
// table in workspace ws.
func rowAAD(table string, ws, id uuid.UUID) []byte {
	return append(append([]byte(table+":"), ws[:]...), id[:]...)
}

// seal encrypts plain for the row identified by aad.
func (s *Sealer) seal(plain, aad []byte) []byte {
	out := make([]byte, 1, 1+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plain, aad)
}

// open decrypts a value sealed for the row identified by aad.
func (s *Sealer) open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("db: open secret: malformed sealed value")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, errors.New("db: open secret: wrong key or tampered value")
	}
	return plain, nil
}
