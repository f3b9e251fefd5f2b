package config

import (
	"fmt"
	"strings"
	"unicode"
)

// Markdown returns the README's table of the settings: flag, default and
// what it bounds, one row per setting in the order of Settings.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| flag | default | bounds |\n|---|---|---|\n")
	for _, s := range Settings {
		text := s.Doc
		if s.More != "" {
			text += ". " + s.More
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", s.Key, markdownDefault(s), strings.ReplaceAll(text, "|", `\|`))
	}
	return b.String()
}

// markdownDefault writes the default as code, with any explanation after
// it plain: "`0` (none)".
func markdownDefault(s Setting) string {
	d := s.DefaultString()
	switch {
	case s.DefaultText == "none" || s.DefaultText != "" && strings.Contains(s.DefaultText, " ") && !strings.Contains(s.DefaultText, " ("):
		return d
	case strings.Contains(d, " ("):
		v, rest, _ := strings.Cut(d, " (")
		return "`" + v + "` (" + rest
	}
	return "`" + d + "`"
}

// exampleHeader opens vigil.conf.example.
const exampleHeader = `# vigil.conf — configuration of ` + "`vigil serve`" + ` (TOML).
#
# Every key has the name of a ` + "`vigil serve`" + ` flag and means the same; a flag
# given on the command line overrides the file. Each key below is commented
# out and shows its default: uncomment a line to change it. A key left out
# keeps its default.
#
# Durations are strings: "500ms", "30s", "1m30s", "2h". Zero ("0s") means the
# default, except where a key says "0: none".
# Sizes are integers (bytes) or strings with a unit: "16KiB", "64MiB",
# "1GiB" (powers of 1024) or "1KB", "1MB" (powers of 1000).
# Relative paths are relative to the directory of this file.
# Durations and sizes are never negative. Unknown keys are errors.
#
# Generated from config/schema.go (go test ./config -update): edit that.
`

// Example returns vigil.conf.example: every key commented out with its
// default, under its doc.
func Example() string {
	var b strings.Builder
	b.WriteString(exampleHeader)
	for _, s := range Settings {
		if s.Section != "" {
			fmt.Fprintf(&b, "\n# --- %s ---\n", s.Section)
		}
		text := s.Doc
		if s.More != "" {
			text += ". " + s.More
		}
		text = strings.NewReplacer("`", "", "*", "").Replace(text) + "."
		b.WriteString("\n")
		for _, line := range wrap(capitalize(text), 76) {
			b.WriteString("# " + line + "\n")
		}
		lit := s.Example
		if lit == "" {
			lit = s.Kind.literal(s.Default())
		}
		fmt.Fprintf(&b, "# %s = %s\n", s.Key, lit)
	}
	return b.String()
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
