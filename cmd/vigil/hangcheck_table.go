//go:build !nohangcheck

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/vigilhttp/vigil/faultkit"
)

// rowFormat prints one row of the table.
const rowFormat = "%-6s %-21s %6s %-5s %-6s %8s  %-24s %s\n"

// row is one scenario's outcome in one mode, as printed and as JSON.
// Problem is set when Why names a problem; Note says why a row that looks
// bad is not one.
type row struct {
	Mode     string                `json:"mode"`
	Scenario string                `json:"scenario"`
	Held     float64               `json:"held_seconds"`
	Ended    string                `json:"ended"`
	ProbeOK  bool                  `json:"probe_ok"`
	ProbeMS  int64                 `json:"probe_ms"`
	Detail   string                `json:"detail"`
	Problem  bool                  `json:"problem"`
	Why      string                `json:"why,omitempty"`
	Note     string                `json:"note,omitempty"`
	Cases    []faultkit.ReplayCase `json:"cases,omitempty"`
}

// printHeader prints the table's header line.
func printHeader(w io.Writer) {
	fmt.Fprintf(w, rowFormat, "MODE", "SCENARIO", "HELD", "ENDED", "PROBE", "PROBE_MS", "PROBLEM", "DETAIL")
}

// printRow prints one row of the table, and a replay row's cases.
func printRow(w io.Writer, r row) {
	probe := "ok"
	if !r.ProbeOK {
		probe = "FAILED"
	}
	problem := "-"
	switch {
	case r.Problem:
		problem = r.Why
	case r.Note != "":
		problem = "none: " + r.Note
	}
	fmt.Fprintf(w, rowFormat, r.Mode, r.Scenario, fmt.Sprintf("%.1fs", r.Held), r.Ended, probe, strconv.FormatInt(r.ProbeMS, 10), problem, r.Detail)
	for _, c := range r.Cases {
		verdict := "ok"
		if !c.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "    %-6s %-7s %s (expect %s; %s)\n", verdict, c.Got, c.Name, c.Expect, c.Source)
	}
}

// printJSON prints the rows as one indented JSON array.
func printJSON(w io.Writer, rows []row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("hangcheck: %w", err)
	}
	return nil
}
