package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
)

// TestContainerImage builds the image from the repository's Dockerfile
// (the static binary and CA certificates on scratch: nothing is pulled)
// with buildah, Debian's daemonless builder, and serves from it against the
// host's PostgreSQL as the least-privileged service role: /readyz answers
// and a GraphQL query with a key made by the host's CLI works.
func TestContainerImage(t *testing.T) {
	buildah, err := exec.LookPath("buildah")
	if err != nil {
		t.Fatalf("the image test needs buildah (Debian package buildah; .ci/run installs it): %v", err)
	}
	ctx, cancel := proctest.Deadline(t)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	// The build context make image prepares: the Dockerfile, the static
	// binary and the CA bundle.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin", "image"), 0o755); err != nil {
		t.Fatal(err)
	}
	static := exec.CommandContext(ctx, tool(t, "go"), "build", "-trimpath", "-ldflags", "-s -w",
		"-o", filepath.Join(dir, "bin", "image", "crmhub"), "./cmd/crmhub")
	static.Dir = filepath.Join("..", "..")
	static.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := static.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	for _, f := range [][2]string{{"../../Dockerfile", "Dockerfile"}, {"/etc/ssl/certs/ca-certificates.crt", "bin/image/ca-certificates.crt"}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f[1]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	tag := "localhost/crmhub-e2e:" + hex.EncodeToString(suffix[:])
	run(buildah, "bud", "--isolation", "chroot", "-t", tag, "-f", filepath.Join(dir, "Dockerfile"), dir)
	t.Cleanup(func() { exec.Command(buildah, "rmi", "-f", tag).Run() })
	if user := run(buildah, "inspect", "--format", "{{.OCIv1.Config.User}}", tag); user != "65534:65534" {
		t.Fatalf("the image runs as %q, want the unprivileged 65534:65534", user)
	}
	ctr := run(buildah, "from", tag)
	t.Cleanup(func() { exec.Command(buildah, "rm", ctr).Run() })

	// A key made on the host, as an operator would with the CLI.
	workspace := exec.CommandContext(ctx, build(t, t.TempDir()), "workspace", "create", "--name", "image", "--json", "--no-migrate")
	workspace.Env = append(os.Environ(), "DATABASE_URL="+dbtest.URL(t))
	var made struct{ APIKey string }
	out, err := workspace.Output()
	if err != nil || json.Unmarshal(out, &made) != nil || made.APIKey == "" {
		t.Fatalf("workspace create: %v %s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serve := exec.Command(buildah, "run", "--isolation", "chroot", "--network", "host",
		"-e", "DATABASE_URL="+dbtest.ServiceURL(t), "-e", "CRMHUB_ADDR="+addr, "-e", "CRMHUB_SECRET_KEY="+db.NewSecretKey(),
		ctr, "--", "/crmhub", "serve", "--no-migrate")
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	lines, logs := proctest.NewLines(), &proctest.Buffer{}
	serve.Stdout, serve.Stderr = lines, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); lines.Close(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-serve.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("the container's output:\n%s", logs)
		}
	})
	base := lines.Next(t, "crmhub listening on ")

	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz of the container: %d\n%s", res.StatusCode, logs)
	}
	var viewer struct {
		Viewer struct{ Workspace struct{ Name string } }
	}
	proctest.GraphQL(t, base, made.APIKey, `{ viewer { workspace { name } } }`, nil, &viewer)
	if viewer.Viewer.Workspace.Name != "image" {
		t.Fatalf("query through the image: %+v\n%s", viewer, logs)
	}
}
