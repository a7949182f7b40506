package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Signature signs per Standard Webhooks: "v1," + base64 of
// HMAC-SHA256(key, id + "." + timestamp + "." + body), timestamp in unix
// seconds. A request carries one per key, space-separated.
func Signature(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
