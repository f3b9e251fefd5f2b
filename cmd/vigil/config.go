package main

import (
	"flag"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/config"
)

// applyConfig fills cfg and o from the config file at path, except where a
// flag was given on the command line: flags win.
func applyConfig(path string, flags *flag.FlagSet, cfg *vigil.Config, o *config.Command) error {
	f, err := config.Load(path)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	flags.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	f.Apply(cfg, o, func(key string) bool { return given[key] })
	return nil
}
