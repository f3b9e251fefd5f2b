package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/config"
)

func TestConfigFile(t *testing.T) {
	t.Run("every serve flag has a config file key of the same name, and every key a flag", func(t *testing.T) {
		var cfg vigil.Config
		flags, _ := serveFlagSet(&cfg, io.Discard)
		flags.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(config.Keys(), f.Name) {
				t.Errorf("flag --%s has no key in vigil.conf", f.Name)
			}
		})
		for _, k := range config.Keys() {
			if flags.Lookup(k) == nil {
				t.Errorf("key %s has no flag --%s", k, k)
			}
		}
	})

	t.Run("flags given on the command line win over the file", func(t *testing.T) {
		dir := t.TempDir()
		conf := filepath.Join(dir, "vigil.conf")
		os.WriteFile(conf, []byte("stall-timeout = \"7s\"\nidle-timeout = \"9s\"\nmax-conns = 5\n"), 0o644)
		var cfg vigil.Config
		flags, o := serveFlagSet(&cfg, io.Discard)
		if err := flags.Parse([]string{"--idle-timeout", "3s"}); err != nil {
			t.Fatal(err)
		}
		if err := applyConfig(conf, flags, &cfg, o); err != nil {
			t.Fatal(err)
		}
		if cfg.StallTimeout != 7*time.Second || cfg.IdleTimeout != 3*time.Second || cfg.MaxConns != 5 {
			t.Errorf("stall %v idle %v max-conns %d, want 7s from the file, 3s from the flag, 5", cfg.StallTimeout, cfg.IdleTimeout, cfg.MaxConns)
		}
	})

	t.Run("--check validates a bad file with its line and key", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "vigil.conf")
		os.WriteFile(conf, []byte("listen = [\"127.0.0.1:0\"]\nstal-timeout = \"7s\"\n"), 0o644)
		err := run(t.Context(), []string{"serve", "--config", conf, "--check"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "vigil.conf:2") || !strings.Contains(err.Error(), "stall-timeout") {
			t.Errorf("--check = %v, want an error at vigil.conf:2 suggesting stall-timeout", err)
		}
	})
}
