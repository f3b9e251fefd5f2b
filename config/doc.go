// Package config declares every setting of `vigil serve` once (Settings)
// and derives from that declaration the serve flags (Flags), the keys of
// vigil.conf, the TOML configuration file, with their validation (Load,
// Parse), the file's example (vigil.conf.example) and the README's table of
// what bounds what. Its tests fail when a setting, its vigil.Config field,
// the package options it reaches, the README or the example disagree.
//
// A file's problems are reported all at once, each with the file name, the
// line and the key:
//
//	vigil.conf:12: stall-timeout: "soon" is not a duration
//	vigil.conf:3: unknown key "stal-timeout" (did you mean "stall-timeout"?)
//
// Values are checked here, once, by the setting's Kind, so that a mistake is
// reported with its line before anything starts:
//
//   - durations are strings for time.ParseDuration ("30s", "1m30s"), never
//     negative;
//   - sizes (body-limit, and min-rate in bytes per second) are integers or
//     strings with a unit ("64MiB", "16KiB", "1MB"), see route.ParseSize; never
//     negative;
//   - relative paths (root, route, auth, access-log, and admin "unix:PATH")
//     are resolved against the directory of the configuration file, so a
//     file means the same whatever the working directory.
//
// A File holds the values in a vigil.Config and a Command (the settings the
// command acts on itself) and records which keys the file set (IsSet), so
// that Apply gives the precedence flag > file > default: a flag given on
// the command line overrides the file, and only where it was given. Zero
// means "not set: the owning package's default", as in vigil.Config.
//
// Adding a setting: its vigil.Config field, its default in
// vigil.DefaultConfig and its use in vigil.New; one entry in Settings; then
// `go test ./config -update` rewrites the README's table and the example.
package config
