// Package config reads vigil.conf, the TOML configuration file of the vigil
// command, and validates it, reporting every problem with the file name, the
// line and the key:
//
//	vigil.conf:12: stall-timeout: "soon" is not a duration
//	vigil.conf:3: unknown key "stal-timeout" (did you mean "stall-timeout"?)
//
// It owns the file's schema: every flag of `vigil serve` has a key of the
// same name (listen, root, header-timeout, stall-timeout, min-rate,
// transfer-timeout, idle-timeout, handler-timeout, shutdown-timeout,
// body-limit, max-conns, max-conns-per-ip, admin, access-log, log-level,
// log-format), and the file adds route, auth and realm. Keys lists them;
// vigil.conf.example documents each one with its default.
//
// Values are checked here, once, so that a mistake is reported with its line
// before anything starts:
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
// A File holds plain values and records which keys the file set (IsSet), so
// the caller can apply the precedence flag > file > default: a flag given on
// the command line overrides the file, and only where it was given. Zero
// means "not set: the owning package's default", as in vigil.Config.
//
// Package config imports only the standard library and
// github.com/BurntSushi/toml: no package of this module. The root package
// converts a File into a vigil.Config.
package config
