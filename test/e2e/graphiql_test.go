package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/crmhub/crmhub/db/dbtest"
)

// TestGraphiQLOffline opens the link `serve --dev-key` prints in headless
// Chromium, as a developer does after `make run`. With no click on
// "re-fetch" the docs list the schema (the introspection query carried the
// key), a query and a subscription run from the editor, and every request
// of the page goes to crmhub itself: nothing comes from a CDN.
func TestGraphiQLOffline(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the GraphiQL browser test needs Chromium: install the Debian package chromium "+
			"(apt-get install chromium; .ci/run does): %v", err)
	}
	dir := t.TempDir()
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t)})
	if want := s.Base + "/#apiKey=" + s.Key; s.DevLink != want {
		t.Fatalf("serve printed the GraphiQL dev key link %q, want %q", s.DevLink, want)
	}
	b := newBrowser(t, chromium, s)

	b.do("open the dev key link", chromedp.Navigate(s.DevLink),
		chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)))
	b.poll("the docs list the root types", docsListSchema)
	if got := b.eval("location.href"); got != s.Base+"/" {
		t.Errorf("the address bar shows %q: the key should be gone from it", got)
	}
	if got := b.eval("localStorage.getItem('crmhub:apiKey')"); got != s.Key {
		t.Errorf("stored key %q, want the dev key", got)
	}
	if got := b.eval("document.getElementById('api-key').value"); got != s.Key {
		t.Errorf("the API key box shows %q, want the dev key", got)
	}

	b.run(`{ viewer { workspace { name } } }`)
	b.waitResult(`"name": "dev"`)

	// The subscription resumes after the newest event, so it sees the
	// contact created below whether that commits before or after the
	// subscription reaches the server.
	s.do(t, createContact, map[string]any{"in": contactInput("before@example.com")}, nil)
	b.run(fmt.Sprintf(`subscription { events(types: ["contact.created"], after: %q) { type subjectId } }`, lastCursor(t, s)))
	select {
	case <-b.subscribed:
	case <-time.After(30 * time.Second):
		b.fail("wait for the subscribe message", fmt.Errorf("none sent; websocket frames sent: %q, requests: %q", b.sentFrames(), b.requestURLs()))
	}
	var created struct{ CreateContact struct{ ID string } }
	s.do(t, createContact, map[string]any{"in": contactInput("after@example.com")}, &created)
	b.waitResult(`"subjectId": "` + created.CreateContact.ID + `"`)

	frames := b.sentFrames()
	if len(frames) == 0 || !strings.Contains(frames[0], `"type":"connection_init"`) ||
		!strings.Contains(frames[0], `"Authorization":"Bearer `+s.Key+`"`) {
		t.Errorf("the websocket's first frame does not carry the key: %q", frames)
	}
	// Without the link and with no key stored, the schema cannot be
	// fetched; the key typed in the box fetches it.
	b.do("open GraphiQL with no key",
		chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('crmhub:apiKey')`),
		chromedp.Navigate(s.Base+"/"),
		chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('.graphiql-doc-explorer').innerText.includes('Error fetching schema')`))
	b.do("type the key in the box",
		chromedp.SendKeys(chromedp.ID("api-key"), s.Key),
		chromedp.Click(chromedp.CSS(`#key-bar button[type="submit"]`)))
	b.poll("the docs list the root types after the key was typed", docsListSchema)

	requests := b.requestURLs()
	base, _ := url.Parse(s.Base)
	assets := map[string]bool{}
	for _, u := range requests {
		p, err := url.Parse(u)
		if err != nil || p.Host != base.Host || (p.Scheme != "http" && p.Scheme != "ws") {
			t.Errorf("the page requested %s: everything should come from %s", u, s.Base)
		}
		if strings.HasPrefix(p.Path, "/graphiql/assets/") {
			assets[p.Path] = true
		}
	}
	if len(assets) != 4 {
		t.Errorf("the page loaded %d embedded assets, want 4; requests: %q", len(assets), requests)
	}
}

// docsListSchema is true when GraphiQL's docs pane shows the schema's
// root types.
const docsListSchema = `(() => {
	const docs = document.querySelector('.graphiql-doc-explorer');
	return docs !== null && /query:\s*Query/.test(docs.innerText) && /subscription:\s*Subscription/.test(docs.innerText);
})()`

const createContact = `mutation($in: ContactInput!) { createContact(input: $in) { id } }`

func contactInput(email string) map[string]any {
	return map[string]any{"identifiers": []map[string]any{{"type": "EMAIL", "value": email}}}
}

// lastCursor pages through the event log over HTTP and returns the newest
// event's cursor.
func lastCursor(t *testing.T, s *server) string {
	t.Helper()
	var after *string
	last := ""
	for {
		var page struct {
			Events struct {
				Edges    []struct{ Cursor string }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		s.do(t, `query($after: String) { events(first: 100, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": after}, &page)
		if n := len(page.Events.Edges); n > 0 {
			last = page.Events.Edges[n-1].Cursor
		}
		if !page.Events.PageInfo.HasNextPage {
			return last
		}
		after = &page.Events.PageInfo.EndCursor
	}
}

// browser is one headless Chromium tab, with what the page sent.
type browser struct {
	t   *testing.T
	s   *server
	ctx context.Context

	mu     sync.Mutex
	urls   []string // every HTTP request and websocket of the page
	frames []string // websocket messages the page sent
	errors []string // uncaught JavaScript exceptions
	// subscribed gets a value when the page sends a subscribe message.
	subscribed chan struct{}
}

// newBrowser starts Chromium with a fresh profile and none of its own
// connections (the closed network here refuses them), and records the
// page's requests.
func newBrowser(t *testing.T, chromium string, s *server) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, s: s, ctx: ctx, subscribed: make(chan struct{}, 1)}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if !strings.HasPrefix(ev.Request.URL, "data:") { // GraphiQL's fonts, inside its CSS
				b.urls = append(b.urls, ev.Request.URL)
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
			b.errors = append(b.errors, msg)
		case *network.EventWebSocketCreated:
			b.urls = append(b.urls, ev.URL)
		case *network.EventWebSocketFrameSent:
			frame := string(ev.Response.PayloadData)
			b.frames = append(b.frames, frame)
			if strings.Contains(frame, `"type":"subscribe"`) {
				select {
				case b.subscribed <- struct{}{}:
				default:
				}
			}
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

func (b *browser) requestURLs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

func (b *browser) sentFrames() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.frames...)
}

// stepTimeout bounds each step, so that a failing one still leaves time
// to report what the page shows.
const stepTimeout = time.Minute

// do runs actions in the tab, failing the test with what the page shows.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// poll waits until the JavaScript expression is true.
func (b *browser) poll(what, expression string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](expression))
}

// eval returns the string the JavaScript expression gives.
func (b *browser) eval(expression string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expression))
	if err != nil {
		b.fail(expression, err)
	}
	return v
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	b.mu.Lock()
	exceptions := strings.Join(b.errors, "\n")
	b.mu.Unlock()
	b.t.Fatalf("%s: %v\npage text:\n%s\nJavaScript exceptions:\n%s\nserver log:\n%s", what, err, page, exceptions, b.s.Stderr)
}

// run puts the operation in GraphiQL's editor and clicks the run button.
// GraphiQL parses the editor's text 100 ms after a change, and the parsed
// document decides whether the fetcher uses the websocket: the click waits
// for it.
func (b *browser) run(operation string) {
	b.t.Helper()
	js, _ := json.Marshal(operation)
	const editor = `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror`
	b.do("run "+operation,
		chromedp.Evaluate[chromedp.Void](editor+`.setValue(`+string(js)+`)`),
		chromedp.Poll[chromedp.Void](editor+`.documentAST?.loc?.source.body === `+string(js)),
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")))
}

// waitResult waits until GraphiQL's result pane holds text.
func (b *browser) waitResult(text string) {
	b.t.Helper()
	js, _ := json.Marshal(text)
	b.poll("the result pane shows "+text,
		`document.querySelector('.result-window .CodeMirror').CodeMirror.getValue().includes(`+string(js)+`)`)
}
