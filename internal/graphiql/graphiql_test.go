package graphiql

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// parseSums reads sha256sum's output: "<hex>  <path>" per line.
func parseSums(b []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != sha256.Size*2 || name == "" {
			return nil, fmt.Errorf("line %d: %q is not \"<sha256>  <path>\"", n, sc.Text())
		}
		if _, dup := sums[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, name)
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

func TestParseSums(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: h + "  a/b.js\n" + h + "  c.css\n", want: map[string]string{"a/b.js": h, "c.css": h}},
		{in: h + " a.js\n", wantErr: true},
		{in: "abc  a.js\n", wantErr: true},
		{in: h + "  \n", wantErr: true},
		{in: h + "  a.js\n" + h + "  a.js\n", wantErr: true},
	} {
		got, err := parseSums([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("parseSums(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) && !tc.wantErr {
			t.Errorf("parseSums(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestVendoredFiles catches a vendored file edited by hand (or added
// without vendor.sh): every embedded file is listed in SHA256SUMS with its
// hash, and every listed file is embedded.
func TestVendoredFiles(t *testing.T) {
	files, err := fs.Sub(thirdParty, "third_party")
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(files, "SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	sums, err := parseSums(b)
	if err != nil {
		t.Fatalf("SHA256SUMS: %v", err)
	}
	seen := 0
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "SHA256SUMS" || name == "README.md" {
			return err
		}
		content, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		got := sha256.Sum256(content)
		switch want, ok := sums[name]; {
		case !ok:
			t.Errorf("%s is not in SHA256SUMS: vendor files with vendor.sh", name)
		case hex.EncodeToString(got[:]) != want:
			t.Errorf("%s differs from the vendored file (sha256 %x, SHA256SUMS says %s): run vendor.sh instead of editing it", name, got, want)
		default:
			seen++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(sums) {
		t.Errorf("SHA256SUMS lists %d files, %d of them embedded and matching", len(sums), seen)
	}
}

var assetRef = regexp.MustCompile(`(?:src|href)="(` + regexp.QuoteMeta(AssetPath) + `[^"]+)"`)

// get serves one GET request with h.
func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

// TestPageLoadsOnlyEmbeddedAssets: each script and stylesheet of the page
// is one of the embedded files, served by Assets; nothing comes from
// elsewhere.
func TestPageLoadsOnlyEmbeddedAssets(t *testing.T) {
	body := get(t, Page(Config{Endpoint: "/graphql"}), "/").Body.String()
	refs := assetRef.FindAllStringSubmatch(body, -1)
	if len(refs) != 4 {
		t.Fatalf("the page loads %d assets, want 4 (react, react-dom, graphiql js and css):\n%s", len(refs), body)
	}
	if strings.Contains(body, "//cdn") || strings.Contains(body, "https://") || strings.Contains(body, "http://") {
		t.Errorf("the page names an absolute URL:\n%s", body)
	}
	assets := Assets()
	for _, ref := range refs {
		w := get(t, assets, ref[1])
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", ref[1], w.Code)
			continue
		}
		want, err := fs.ReadFile(thirdParty, path.Join("third_party", strings.TrimPrefix(ref[1], AssetPath)))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(w.Body); !bytes.Equal(got, want) {
			t.Errorf("GET %s: not the embedded file", ref[1])
		}
	}
	if w := get(t, assets, AssetPath+"nothing.js"); w.Code != http.StatusNotFound {
		t.Errorf("GET a missing asset: %d, want 404", w.Code)
	}
}

// TestPageDevKeyLink: the page takes a key from the link's fragment only
// when the server runs in development mode.
func TestPageDevKeyLink(t *testing.T) {
	for _, dev := range []bool{false, true} {
		w := get(t, Page(Config{Endpoint: "/graphql", DevKeyLink: dev}), "/")
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		body := w.Body.String()
		if want := regexp.MustCompile(fmt.Sprintf(`const devKeyLink = *%t *;`, dev)); !want.MatchString(body) {
			t.Errorf("DevKeyLink %t: the page lacks %q:\n%s", dev, want, body)
		}
		if want := `const endpoint = "/graphql";`; !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
