// Package promql finds what a PromQL expression refers to: the metrics it
// selects, the label names it matches on, and the label names it groups or
// joins by. The shipped alerts and dashboard are checked with it against
// the metrics the operator really exports, so that a renamed metric or
// label fails a test instead of leaving an alert that never fires.
//
// It reads the expression's tokens, not its syntax tree: the syntax is
// checked by promtool (`promtool check rules`). Prometheus's own parser
// would bring in the Prometheus module and, with it, newer versions of
// dozens of the operator's dependencies.
package promql

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Selector is one vector selector: a metric and its label matchers.
type Selector struct {
	Metric   string
	Matchers []Matcher
}

// Matcher is one label matcher, such as controller=~"a|b".
type Matcher struct {
	Label string
	// Op is =, !=, =~ or !~.
	Op string
	// Value is the quoted value as written, without its quotes and with
	// its escapes left as they are.
	Value string
}

// Labels are the label names the selector matches on, in order.
func (s Selector) Labels() []string {
	var labels []string
	for _, m := range s.Matchers {
		labels = append(labels, m.Label)
	}
	return labels
}

// Refs is what one expression refers to.
type Refs struct {
	// Selectors are the vector selectors, in order.
	Selectors []Selector
	// Grouping are the label names of its by, without, on, ignoring,
	// group_left and group_right lists, sorted and without repeats.
	Grouping []string
}

// Metrics are the distinct metric names the expression selects, sorted.
func (r Refs) Metrics() []string {
	var names []string
	for _, s := range r.Selectors {
		names = append(names, s.Metric)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// aggregations are PromQL's aggregation operators: a name that is not a
// metric even when no parenthesis follows it (`sum by (wave) (x)`).
var aggregations = []string{
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
	"bottomk", "topk", "quantile", "limitk", "limit_ratio",
}

// keywords are names that are never metrics.
var keywords = []string{"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}

// groupingKeywords are followed by a list of label names.
var groupingKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

// References reads an expression. Grafana's variables ($region,
// ${__rate_interval}) may appear where the dashboard puts them: in strings,
// in range brackets and as numbers.
func References(expr string) (Refs, error) {
	l := &lexer{src: expr}
	var refs Refs
	grouping := map[string]bool{}
	for {
		l.skipSpace()
		if l.done() {
			break
		}
		c := l.peek()
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return Refs{}, err
			}
		case c == '[':
			if err := l.skipPast(']'); err != nil {
				return Refs{}, err
			}
		case c == '{':
			// A selector with no metric name ({__name__=~"..."}): the
			// check cannot know which metrics it selects, so it is refused.
			return Refs{}, fmt.Errorf("selector without a metric name at offset %d in %q", l.pos, expr)
		case c == '$':
			l.skipVariable()
		case isDigit(c) || (c == '.' && isDigit(l.peekAt(1))):
			l.skipNumber()
		case isNameStart(c):
			name := l.name()
			if err := l.word(name, &refs, grouping); err != nil {
				return Refs{}, fmt.Errorf("%w in %q", err, expr)
			}
		default:
			l.pos++ // an operator or punctuation
		}
	}
	for label := range grouping {
		refs.Grouping = append(refs.Grouping, label)
	}
	slices.Sort(refs.Grouping)
	return refs, nil
}

// word handles a name just read: a keyword, a function, an aggregation, or
// a metric and its matchers.
func (l *lexer) word(name string, refs *Refs, grouping map[string]bool) error {
	lower := strings.ToLower(name)
	switch {
	case slices.Contains(groupingKeywords, lower):
		l.skipSpace()
		if l.peek() != '(' {
			return nil // group_left without a list
		}
		labels, err := l.labelList()
		if err != nil {
			return err
		}
		for _, label := range labels {
			grouping[label] = true
		}
		return nil
	case slices.Contains(keywords, lower), slices.Contains(aggregations, lower):
		return nil
	}
	l.skipSpace()
	if l.peek() == '(' {
		return nil // a function call
	}
	sel := Selector{Metric: name}
	if l.peek() == '{' {
		matchers, err := l.matchers()
		if err != nil {
			return err
		}
		sel.Matchers = matchers
	}
	refs.Selectors = append(refs.Selectors, sel)
	return nil
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) done() bool { return l.pos >= len(l.src) }

func (l *lexer) peek() byte { return l.peekAt(0) }

func (l *lexer) peekAt(n int) byte {
	if l.pos+n >= len(l.src) {
		return 0
	}
	return l.src[l.pos+n]
}

// skipSpace skips white space and # comments.
func (l *lexer) skipSpace() {
	for !l.done() {
		switch c := l.peek(); {
		case c == '#':
			for !l.done() && l.peek() != '\n' {
				l.pos++
			}
		case unicode.IsSpace(rune(c)):
			l.pos++
		default:
			return
		}
	}
}

func (l *lexer) name() string {
	start := l.pos
	for !l.done() && isNameChar(l.peek()) {
		l.pos++
	}
	return l.src[start:l.pos]
}

// skipString skips a quoted string; a backslash escapes the next character
// except in a backquoted one.
func (l *lexer) skipString() error {
	start, quote := l.pos, l.peek()
	l.pos++
	for !l.done() {
		c := l.peek()
		l.pos++
		switch {
		case c == '\\' && quote != '`':
			l.pos++
		case c == quote:
			return nil
		}
	}
	return fmt.Errorf("unterminated string at offset %d", start)
}

// skipPast skips to just after the next close, outside strings.
func (l *lexer) skipPast(close byte) error {
	start := l.pos
	for !l.done() {
		switch l.peek() {
		case '"', '\'', '`':
			if err := l.skipString(); err != nil {
				return err
			}
			continue
		case close:
			l.pos++
			return nil
		}
		l.pos++
	}
	return fmt.Errorf("no %q after offset %d", close, start)
}

// skipVariable skips a Grafana variable: $name or ${name}.
func (l *lexer) skipVariable() {
	l.pos++
	if l.peek() == '{' {
		for !l.done() && l.peek() != '}' {
			l.pos++
		}
		l.pos++
		return
	}
	l.name()
}

// skipNumber skips a number or a duration (5m, 1h30m, 1e3, 0x1f).
func (l *lexer) skipNumber() {
	for !l.done() && (isNameChar(l.peek()) || l.peek() == '.') {
		l.pos++
	}
}

// labelList reads "(a, b, c)".
func (l *lexer) labelList() ([]string, error) {
	start := l.pos
	l.pos++ // (
	var labels []string
	for {
		l.skipSpace()
		switch c := l.peek(); {
		case l.done():
			return nil, fmt.Errorf("unclosed label list at offset %d", start)
		case c == ')':
			l.pos++
			return labels, nil
		case c == ',':
			l.pos++
		case isNameStart(c):
			labels = append(labels, l.name())
		default:
			return nil, fmt.Errorf("unexpected %q in the label list at offset %d", c, l.pos)
		}
	}
}

// matchers reads `{name op "value", ...}`.
func (l *lexer) matchers() ([]Matcher, error) {
	start := l.pos
	l.pos++ // {
	var matchers []Matcher
	for {
		l.skipSpace()
		switch c := l.peek(); {
		case l.done():
			return nil, fmt.Errorf("unclosed matchers at offset %d", start)
		case c == '}':
			l.pos++
			return matchers, nil
		case c == ',':
			l.pos++
		case isNameStart(c):
			m := Matcher{Label: l.name()}
			l.skipSpace()
			opStart := l.pos
			for !l.done() && strings.IndexByte("=!~", l.peek()) >= 0 {
				l.pos++
			}
			m.Op = l.src[opStart:l.pos]
			l.skipSpace()
			if q := l.peek(); q != '"' && q != '\'' && q != '`' {
				return nil, fmt.Errorf("matcher %s has no quoted value at offset %d", m.Label, l.pos)
			}
			valueStart := l.pos
			if err := l.skipString(); err != nil {
				return nil, err
			}
			m.Value = l.src[valueStart+1 : l.pos-1]
			matchers = append(matchers, m)
		default:
			return nil, fmt.Errorf("unexpected %q in matchers at offset %d", c, l.pos)
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || isDigit(c) }
