package operatorproc

import (
	"fmt"
	"strconv"
	"strings"
)

// Sample is one line of the Prometheus text format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics are the samples of one scrape.
type Metrics []Sample

// ParseMetrics reads the Prometheus text exposition format: comments are
// skipped, every other line is `name{label="value",...} number`.
func ParseMetrics(text string) (Metrics, error) {
	var m Metrics
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", i+1, err)
		}
		m = append(m, s)
	}
	return m, nil
}

func parseSample(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	var rest string
	if open := strings.IndexByte(line, '{'); open >= 0 {
		end := strings.LastIndexByte(line, '}')
		if end < open {
			return Sample{}, fmt.Errorf("unbalanced braces in %q", line)
		}
		s.Name = line[:open]
		if err := parseLabels(line[open+1:end], s.Labels); err != nil {
			return Sample{}, fmt.Errorf("%q: %w", line, err)
		}
		rest = strings.TrimSpace(line[end+1:])
	} else {
		name, value, found := strings.Cut(line, " ")
		if !found {
			return Sample{}, fmt.Errorf("no value in %q", line)
		}
		s.Name, rest = name, strings.TrimSpace(value)
	}
	// A timestamp may follow the value.
	value, _, _ := strings.Cut(rest, " ")
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("value of %q: %w", line, err)
	}
	s.Value = v
	return s, nil
}

// parseLabels reads `a="x",b="y"`, with \" \\ and \n escapes in values.
func parseLabels(text string, into map[string]string) error {
	for text != "" {
		name, rest, found := strings.Cut(text, "=")
		if !found || !strings.HasPrefix(rest, `"`) {
			return fmt.Errorf("malformed labels %q", text)
		}
		var value strings.Builder
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				switch rest[i] {
				case 'n':
					value.WriteByte('\n')
				default:
					value.WriteByte(rest[i])
				}
				continue
			}
			value.WriteByte(rest[i])
		}
		if i >= len(rest) {
			return fmt.Errorf("unterminated value in %q", text)
		}
		into[strings.TrimSpace(name)] = value.String()
		text = strings.TrimPrefix(strings.TrimSpace(rest[i+1:]), ",")
	}
	return nil
}

// Sum adds up the samples named name whose labels include every label in
// match whose value is one of the listed ones (nil matches every sample).
func (m Metrics) Sum(name string, match map[string][]string) float64 {
	var total float64
	for _, s := range m {
		if s.Name == name && matches(s.Labels, match) {
			total += s.Value
		}
	}
	return total
}

func matches(labels map[string]string, match map[string][]string) bool {
	for key, values := range match {
		found := false
		for _, v := range values {
			found = found || labels[key] == v
		}
		if !found {
			return false
		}
	}
	return true
}

// WriteMethods are the HTTP methods that change something on the API
// server.
var WriteMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// Writes is the number of write requests the operator's clients sent to the
// API server (rest_client_requests_total), whatever their answer.
func (m Metrics) Writes() int64 {
	return int64(m.Sum("rest_client_requests_total", map[string][]string{"method": WriteMethods}))
}

// Reconciles is the number of reconciles of one controller (all of them
// when controller is ""), whatever their result.
func (m Metrics) Reconciles(controller string) int64 {
	var match map[string][]string
	if controller != "" {
		match = map[string][]string{"controller": {controller}}
	}
	return int64(m.Sum("controller_runtime_reconcile_total", match))
}

// Requests is the number of requests the operator's clients sent to the API
// server with one HTTP method (GET for reads that missed the cache, POST,
// PATCH...), whatever their answer.
func (m Metrics) Requests(method string) int64 {
	return int64(m.Sum("rest_client_requests_total", map[string][]string{"method": {method}}))
}
