package crashreport

import "strings"

// stableMessage keeps the part of a kernel message that is the same on
// every machine and every run: its words up to the first one that holds
// a number, an address, a path, a name in brackets or an assignment
// ("exitcode=0x0000000b", "CPU#0,", "sh/85", "unknown-block(0,0)",
// "[00000000]"), or up to the end of its first clause (a word ending in
// "," ";" or "."). The words "process", "task", "comm" and "pid" end it
// too (a process name follows them). Trailing prepositions and colons
// are dropped, so "page fault for address: ffff..." is "page fault for
// address" and "bad magic on CPU#0" is "bad magic".
func stableMessage(b []byte) string {
	var out []string
	words := strings.Fields(string(b))
	size := 0
	for _, w := range words {
		// Kernel messages are short: a long word or message is not one.
		if len(out) >= 16 || len(w) > 64 || size+len(w) > 120 {
			break
		}
		size += len(w) + 1
		if stopWords[w] {
			break
		}
		last := w[len(w)-1]
		if last == ',' || last == ';' || last == '.' {
			w = strings.TrimRight(w, ",;.")
			if w != "" && !variableWord(w) {
				out = append(out, w)
			}
			break
		}
		if onlyPunct(w) || variableWord(w) {
			break
		}
		out = append(out, w)
	}
	for len(out) > 0 {
		n := len(out) - 1
		w := strings.TrimRight(out[n], ":")
		if w == "" || trailingWords[w] {
			out = out[:n]
			continue
		}
		out[n] = w
		break
	}
	return strings.Join(out, " ")
}

var stopWords = map[string]bool{"process": true, "task": true, "comm": true, "pid": true, "Comm:": true, "PID:": true}

var trailingWords = map[string]bool{
	"at": true, "in": true, "on": true, "for": true, "of": true, "from": true, "by": true,
	"with": true, "to": true, "the": true, "a": true, "an": true, "and": true, "or": true,
	"is": true, "was": true, "-": true,
}

// variableWord reports a word that differs between machines or runs.
func variableWord(w string) bool {
	// A call "name()" is a function name, stable.
	if strings.HasSuffix(w, "()") && !strings.ContainsAny(w[:len(w)-2], "()") {
		w = w[:len(w)-2]
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			return true
		case c < 0x21 || c > 0x7e:
			return true
		case strings.IndexByte("()[]{}<>=#/@%\\\"'`|", c) >= 0:
			return true
		case c == ':' && i != len(w)-1:
			return true
		}
	}
	return false
}

func onlyPunct(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			return false
		}
	}
	return true
}
