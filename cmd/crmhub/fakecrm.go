package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// fakeCRMShutdownTimeout bounds how long fake-crm waits for requests in
// flight when it is stopped.
const fakeCRMShutdownTimeout = 5 * time.Second

// fakeCRM serves an in-memory fake of an external CRM's API, the one the
// connector tests use, so that a connection can be tried by hand without
// the real service.
func (c *cli) fakeCRM(ctx context.Context, args []string) error {
	fs := c.newFlagSet("fake-crm", "fake-crm --kind wazzup|wazapin|wazelo|wazera [flags]\n\n"+
		"Serves an in-memory fake of an external CRM's documented API until\n"+
		"SIGINT or SIGTERM, and prints the base URL to give a connection and\n"+
		"its API key. State is lost when it stops. The Wazzup fake holds one\n"+
		"user (id \"1\"), so that contacts pushed without a responsible user\n"+
		"have one, and one active WhatsApp channel.")
	kind := fs.String("kind", "", "the CRM to fake: wazzup, wazapin, wazelo or wazera")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on (port 0 picks a free port)")
	apiKey := fs.String("api-key", "", "the only API key the fake accepts (default: the fake's test key)")
	seed := fs.Int("seed-contacts", 0, "number of sample contacts to start with")
	every := fs.Int("rate-limit-every", 0, "answer every Nth request with 429 (0: never)")
	retryAfter := fs.Duration("retry-after", 0, "Retry-After of the injected 429s, rounded up to whole seconds (0: no header)")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *kind == "":
		return &usageError{msg: "fake-crm needs --kind", fs: fs}
	case !slices.Contains(fakeKinds, strings.ToLower(*kind)):
		return &usageError{msg: fmt.Sprintf("unknown --kind %q (want %s)", *kind, strings.Join(fakeKinds, ", ")), fs: fs}
	case *seed < 0 || *every < 0 || *retryAfter < 0:
		return &usageError{msg: "--seed-contacts, --rate-limit-every and --retry-after must not be negative", fs: fs}
	}

	retry := ""
	if *retryAfter > 0 {
		retry = strconv.Itoa(int(math.Ceil(retryAfter.Seconds())))
	}
	handler, key, path := fakeHandler(strings.ToLower(*kind), *apiKey, *seed, *every, retry)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(c.stdout, "fake %s listening on %s%s\n", strings.ToLower(*kind), baseURL(ln.Addr()), path)
	fmt.Fprintf(c.stdout, "API key: %s\n", key)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("fake-crm: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fakeCRMShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fake-crm: %w", err)
	}
	return nil
}

// fakeKinds are the CRMs fake-crm can serve.
var fakeKinds = []string{"wazzup", "wazapin", "wazelo", "wazera"}

// fakeHandler builds the fake of kind with key (its default when empty),
// n sample contacts, a 429 every `every` requests with Retry-After retry,
// and returns it with the key it accepts and the path to add to its
// address for a connection's base URL.
func fakeHandler(kind, key string, n, every int, retry string) (http.Handler, string, string) {
	switch kind {
	case "wazapin":
		opts := wazapintest.Options{APIKey: key, RateLimitEvery: every, RetryAfter: retry}
		for i := range n {
			opts.Contacts = append(opts.Contacts, wazapintest.Contact{ID: fmt.Sprintf("c%05d", i+1),
				Name: fmt.Sprintf("Sample contact %d", i+1), PhoneNumber: fmt.Sprintf("+7999%07d", i+1)})
		}
		return wazapintest.New(opts), cmpOr(key, wazapintest.DefaultAPIKey), ""
	case "wazelo":
		opts := wazelotest.Options{APIKey: key, RateLimitEvery: every, RetryAfter: retry}
		for i := range n {
			name := fmt.Sprintf("Sample contact %d", i+1)
			opts.Contacts = append(opts.Contacts, wazelotest.Contact{ID: fmt.Sprintf("c%05d", i+1), Name: &name,
				Phone: fmt.Sprintf("7999%07d", i+1)})
		}
		return wazelotest.New(opts), cmpOr(key, wazelotest.DefaultAPIKey), "/v1"
	case "wazera":
		opts := wazeratest.Options{APIKey: key, RateLimitEvery: every, RetryAfter: retry, WhatsAppAccounts: []int64{1}}
		for i := range n {
			name := fmt.Sprintf("Sample contact %d", i+1)
			opts.Contacts = append(opts.Contacts, wazeratest.Contact{ID: int64(i + 1), Name: &name, Phone: fmt.Sprintf("+7999%07d", i+1)})
		}
		return wazeratest.New(opts), cmpOr(key, wazeratest.DefaultAPIKey), ""
	}
	opts := wazzuptest.Options{APIKey: key, RateLimitEvery: every, RetryAfter: retry,
		Users:    []wazzuptest.User{{ID: "1", Name: "Fake manager"}},
		Channels: []wazzuptest.Channel{{ChannelID: "00000000-0000-4000-8000-000000000001", Transport: "whatsapp", PlainID: "79000000000", State: "active"}},
		Contacts: wazzuptest.SampleContacts(n)}
	return wazzuptest.New(opts), cmpOr(key, wazzuptest.DefaultAPIKey), ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
