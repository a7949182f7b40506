package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// fakeCRMShutdownTimeout bounds how long fake-crm waits for requests in
// flight when it is stopped.
const fakeCRMShutdownTimeout = 5 * time.Second

// fakeCRM serves an in-memory fake of an external CRM's API, the one the
// connector tests use, so that a connection can be tried by hand without
// the real service.
func (c *cli) fakeCRM(ctx context.Context, args []string) error {
	fs := c.newFlagSet("fake-crm", "fake-crm --kind wazzup [flags]\n\n"+
		"Serves an in-memory fake of an external CRM's documented API until\n"+
		"SIGINT or SIGTERM, and prints its base URL and API key. State is\n"+
		"lost when it stops. The Wazzup fake holds one user (id \"1\"), so that\n"+
		"contacts pushed without a responsible user have one.")
	kind := fs.String("kind", "", "the CRM to fake: wazzup")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on (port 0 picks a free port)")
	apiKey := fs.String("api-key", wazzuptest.DefaultAPIKey, "the only API key the fake accepts")
	seed := fs.Int("seed-contacts", 0, "number of sample contacts to start with")
	every := fs.Int("rate-limit-every", 0, "answer every Nth request with 429 (0: never)")
	retryAfter := fs.Duration("retry-after", 0, "Retry-After of the injected 429s, rounded up to whole seconds (0: no header)")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *kind == "":
		return &usageError{msg: "fake-crm needs --kind", fs: fs}
	case !strings.EqualFold(*kind, "wazzup"):
		return &usageError{msg: fmt.Sprintf("unknown --kind %q (want wazzup)", *kind), fs: fs}
	case *apiKey == "":
		return &usageError{msg: "--api-key must not be empty", fs: fs}
	case *seed < 0 || *every < 0 || *retryAfter < 0:
		return &usageError{msg: "--seed-contacts, --rate-limit-every and --retry-after must not be negative", fs: fs}
	}

	opts := wazzuptest.Options{
		APIKey:         *apiKey,
		RateLimitEvery: *every,
		Users:          []wazzuptest.User{{ID: "1", Name: "Fake manager"}},
		Contacts:       sampleWazzupContacts(*seed),
	}
	if *retryAfter > 0 {
		opts.RetryAfter = strconv.Itoa(int(math.Ceil(retryAfter.Seconds())))
	}
	srv := &http.Server{Handler: wazzuptest.New(opts), ReadHeaderTimeout: readHeaderTimeout}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(c.stdout, "fake wazzup listening on %s\n", baseURL(ln.Addr()))
	fmt.Fprintf(c.stdout, "API key: %s\n", *apiKey)

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

// sampleWazzupContacts returns n valid contacts with ids c00001, c00002,
// ..., each with a distinct WhatsApp number and the fake's user as
// responsible.
func sampleWazzupContacts(n int) []wazzuptest.Contact {
	out := make([]wazzuptest.Contact, n)
	for i := range out {
		out[i] = wazzuptest.Contact{
			ID:                fmt.Sprintf("c%05d", i+1),
			ResponsibleUserID: "1",
			Name:              fmt.Sprintf("Sample contact %d", i+1),
			ContactData:       []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%07d", i+1)}},
		}
	}
	return out
}
