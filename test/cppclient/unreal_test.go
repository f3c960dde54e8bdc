package cppclient_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Unreal plugin (sdk/unreal) cannot be built here without the engine,
// but the part of it that is the SDK can: sdk/unreal/stage.sh copies the
// SDK into the plugin without its POSIX socket and HTTP code, and this
// test builds what it staged, as the engine would (no exceptions, no RTTI),
// into a program whose own HttpClient and Transport stand in for the
// engine's, so that a staged file needing the POSIX code fails to link.
func TestUnrealPluginStagesAnSDKWithoutPOSIX(t *testing.T) {
	root := repoRoot(t)
	for _, tool := range []string{"c++", "protoc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (deploy/local/services.sh cpp)", tool)
		}
	}
	dir := t.TempDir()
	staged := filepath.Join(dir, "Sdk")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "sdk", "unreal", "stage.sh"), staged).CombinedOutput(); err != nil {
		t.Fatalf("stage.sh: %v\n%s", err, out)
	}

	posix := regexp.MustCompile(`#include\s*<(sys/|arpa/|netinet/|unistd\.h|netdb\.h|poll\.h|fcntl\.h)`)
	var sources []string
	err := filepath.Walk(staged, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := posix.Find(b); m != nil {
			t.Errorf("%s includes a POSIX header (%s): the engine's platforms do not all have it", path, m)
		}
		if strings.HasSuffix(path, ".cpp") {
			sources = append(sources, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) < 8 {
		t.Fatalf("stage.sh staged only %d sources: %v", len(sources), sources)
	}

	// The engine's header that the generated code's wrapper includes.
	stub := filepath.Join(dir, "stub")
	if err := os.MkdirAll(filepath.Join(stub, "HAL"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(stub, "HAL", "Platform.h"), "#pragma once\n#define THIRD_PARTY_INCLUDES_START\n#define THIRD_PARTY_INCLUDES_END\n")
	main := filepath.Join(dir, "main.cpp")
	write(main, stagedMain)
	bin := filepath.Join(dir, "staged")
	args := append([]string{"-std=c++17", "-O0", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Wshadow", "-Werror",
		"-I", filepath.Join(staged, "include"), "-I", filepath.Join(staged, "gen"), "-I", stub, main, "-o", bin}, sources...)
	args = append(args, "-lprotobuf-lite")
	if out, err := exec.CommandContext(ctx, "c++", args...).CombinedOutput(); err != nil {
		t.Fatalf("building the staged SDK: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, bin).CombinedOutput(); err != nil {
		t.Fatalf("the staged SDK's program: %v\n%s", err, out)
	}
}

// stagedMain drives the staged REST client and connection over stand-ins
// for the engine's HTTP and socket.
const stagedMain = `#include <cstdio>
#include "muster/connection.h"
#include "muster/rest_client.h"

struct EngineHttp : muster::HttpClient {
  muster::Status send(const muster::HttpRequest& req, muster::HttpResponse* resp) override {
    resp->status = 200;
    resp->body = req.url.find("/v1/auth/login") != std::string::npos
        ? R"({"player":{"id":"p_1","display_name":"Nova","status":"active","created_at":"t","last_login_at":null},)"
          R"("tokens":{"access_token":"a","token_type":"Bearer","expires_in":900,"refresh_token":"r","refresh_expires_in":9,"session_id":"s"}})"
        : R"({"wallets":[{"currency":"credits","name":"Credits","kind":"soft","balance":5,"history":[],"next":null}]})";
    return muster::Status::Ok();
  }
};

struct EngineSocket : muster::Transport {
  muster::Status write(const char*, size_t) override { return muster::Status::Ok(); }
  muster::Status read(char*, size_t, std::chrono::milliseconds, size_t* n) override {
    *n = 0;
    return muster::Status(muster::StatusCode::kClosed, "the stand-in has nothing to read");
  }
  void close() override {}
};

int main() {
  EngineHttp http;
  muster::RestClient rest(http, "https://api.example.com");
  std::vector<muster::rest::Wallet> wallets;
  if (!rest.login_email("a@example.com", "pw").ok() || !rest.wallets(&wallets).ok() || wallets.size() != 1 ||
      wallets[0].balance != 5) {
    std::puts("REST over the stand-in failed");
    return 1;
  }
  muster::Connection conn(std::make_unique<EngineSocket>());
  muster::HelloParams hello;
  hello.access_token = rest.tokens().access_token;
  if (conn.hello(hello, std::chrono::milliseconds(100)).code() != muster::StatusCode::kClosed) {
    std::puts("Hello over a closed stand-in did not report it closed");
    return 1;
  }
  return 0;
}
`
