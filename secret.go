package qm

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewSecret returns a random secret of 256 bits, URL-safe, after prefix (a
// prefix such as "qmt_" lets secret scanners recognise a leaked token).
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns the hash under which a secret is stored. Secrets have
// 256 bits of entropy, so a fast hash is as good as a slow one here.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewLinkSecret is NewSecret for a secret carried in a link's path, such as
// an invitation's: lower-case hex, since the server folds paths to lower
// case before routing them.
func NewLinkSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
