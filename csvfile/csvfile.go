// Package csvfile reads CSV files as spreadsheets and asset tools write
// them: any line ending (LF, CRLF, or CR alone, as old Excel for Mac
// writes), UTF-8 or a legacy encoding the caller names, and a line that is
// not CSV reported on its own without losing the lines after it.
//
// encoding/csv cannot do the last: after a quote that never closes it has
// read the rest of the file into one cell, and it cannot give those lines
// back. This reader keeps the physical lines of the record it is reading,
// so on such an error it reports the record's first line and reads on
// from the line after it.
package csvfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/quartermaster/qm"
)

// MaxRecord bounds one record (a row, with every line of its multi-line
// cells): a quote left open reads no further than this before the record
// is reported and the lines after its first are read again.
const MaxRecord = 4 << 20

// Record is one row of a file.
type Record struct {
	// Line is the line the record starts on, counted from 1.
	Line int
	// Fields are the record's cells; nil when Err is set.
	Fields []string
	// Err says why the record is not CSV. Reading goes on at the line
	// after Line.
	Err error
}

// Reader reads records. Lines that hold nothing but separators (as
// spreadsheets write below their data) are skipped.
type Reader struct {
	src     *bufio.Reader
	line    int      // physical lines read
	pending []string // physical lines given back, read before src
	// spool, while looking ahead, keeps what is read from src.
	spool  *bufio.Writer
	header []string
	err    error // what made the file unreadable, once met
}

// NewReader reads in, transcoding it from the named encoding first; ""
// (or utf-8) means the file must be UTF-8, and a line that is not is an
// error naming it. EInvalid for an encoding it does not know.
func NewReader(in io.Reader, encodingName string) (*Reader, error) {
	enc, err := Encoding(encodingName)
	if err != nil {
		return nil, err
	}
	if enc != nil {
		in = enc.NewDecoder().Reader(in)
	}
	return &Reader{src: bufio.NewReaderSize(&lineEnds{r: in}, 64<<10)}, nil
}

// Encoding returns the encoding called name (a WHATWG or IANA name:
// windows-1252, macintosh, iso-8859-1, utf-16le…), nil for UTF-8 or "".
// EInvalid for a name it does not know.
func Encoding(name string) (encoding.Encoding, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, nil
	}
	enc, err := htmlindex.Get(name)
	if err != nil {
		enc, err = ianaindex.IANA.Encoding(name)
	}
	if err != nil || enc == nil {
		return nil, qm.Errorf(qm.EInvalid, "unknown encoding %q: name one such as windows-1252, macintosh (Mac Roman), iso-8859-1 or utf-8", name)
	}
	if enc == unicode.UTF8 {
		return nil, nil
	}
	return enc, nil
}

// ReadHeader reads the first record, which names the columns. EInvalid
// for a file that is empty or whose first line is not CSV; an error of
// Read otherwise.
func (r *Reader) ReadHeader() ([]string, error) {
	rec, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, qm.Errorf(qm.EInvalid, "the file is empty: the first line must name the columns")
	case err != nil:
		return nil, err
	case rec.Err != nil:
		return nil, qm.Errorf(qm.EInvalid, "line %d, the header, is not CSV: %v", rec.Line, rec.Err)
	}
	return rec.Fields, nil
}

// Read returns the next record, or io.EOF after the last. A record that is
// not CSV comes back with Err set. The error is an *qm.Error with code
// EBadRequest when the file cannot be read as text: a line that is not
// UTF-8 (or the encoding named), or a cell holding a NUL byte.
func (r *Reader) Read() (Record, error) {
	for r.err == nil {
		rec, err := r.read()
		if err != nil && !errors.Is(err, io.EOF) {
			r.err = err
		}
		if err != nil || rec.Err != nil || !blank(rec.Fields) {
			if err == nil && rec.Err == nil && r.header == nil {
				r.header = rec.Fields
			}
			return rec, err
		}
	}
	return Record{}, r.err
}

// blank reports whether every cell is empty.
func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (r *Reader) read() (Record, error) {
	first, err := r.physical()
	if err != nil {
		return Record{}, err
	}
	rec := Record{Line: r.line}
	text, lines := first, []string{first}
	for open := opens(first, false); open; open = opens(lines[len(lines)-1], true) {
		next, err := r.physical()
		if errors.Is(err, io.EOF) {
			rec.Err = errors.New("a quoted cell is never closed: a quote is missing, or one inside a cell is not doubled")
			break
		}
		if err != nil {
			return rec, err
		}
		lines = append(lines, next)
		text += "\n" + next
		if len(text) > MaxRecord {
			rec.Err = fmt.Errorf("a quoted cell runs over %d MiB: a quote is missing, or one inside a cell is not doubled", MaxRecord>>20)
			break
		}
	}
	if err := r.checkText(rec.Line, text); err != nil {
		return rec, err
	}
	if rec.Err == nil {
		rec.Fields, rec.Err = split(text)
	}
	if rec.Err != nil {
		// Read the lines after the first again: they may be rows of
		// their own that the bad quote swallowed.
		r.line = rec.Line
		r.pending = append(lines[1:len(lines):len(lines)], r.pending...)
		rec.Fields = nil
	}
	return rec, nil
}

// physical returns the next physical line, without its end.
func (r *Reader) physical() (string, error) {
	if len(r.pending) > 0 {
		l := r.pending[0]
		r.pending = r.pending[1:]
		r.line++
		return l, nil
	}
	b, err := r.src.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), b...)
		for errors.Is(err, bufio.ErrBufferFull) && len(long) <= MaxRecord {
			b, err = r.src.ReadSlice('\n')
			long = append(long, b...)
		}
		if len(long) > MaxRecord {
			return "", qm.Errorf(qm.EBadRequest, "line %d is longer than %d MiB", r.line+1, MaxRecord>>20)
		}
		b = long
	}
	if len(b) == 0 && err != nil {
		if errors.Is(err, io.EOF) {
			return "", io.EOF
		}
		return "", fmt.Errorf("read line %d: %w", r.line+1, err)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read line %d: %w", r.line+1, err)
	}
	if r.spool != nil {
		if _, err := r.spool.Write(b); err != nil {
			return "", fmt.Errorf("spool: %w", err)
		}
		if b[len(b)-1] != '\n' {
			r.spool.WriteByte('\n')
		}
	}
	r.line++
	return string(bytes.TrimSuffix(b, []byte{'\n'})), nil
}

// checkText refuses a record that is not text: bytes that are not UTF-8,
// which means the file is in an encoding not named, or a NUL byte.
func (r *Reader) checkText(line int, text string) error {
	if qm.TextProblem(text) == "" {
		return nil
	}
	for i, c := range text {
		if c != utf8.RuneError && c != 0 {
			continue
		}
		if c == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(text[i:]); n > 1 {
				continue // a real U+FFFD
			}
		}
		at := r.where(line+strings.Count(text[:i], "\n"), columnAt(text, i))
		if c == 0 {
			return qm.Errorf(qm.EBadRequest, "%s holds a NUL byte, which is not text", at)
		}
		return qm.Errorf(qm.EBadRequest, "%s is not UTF-8: the file is in another encoding; name it (for example windows-1252, or macintosh for Mac Roman) and import it again", at)
	}
	return nil
}

// where names a line and a column, by its header when known.
func (r *Reader) where(line, col int) string {
	if col <= len(r.header) {
		return fmt.Sprintf("line %d, column %d (%q)", line, col, strings.TrimSpace(r.header[col-1]))
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

// columnAt returns the column (from 1) that byte i of a record's text is
// in, counting separators outside quotes.
func columnAt(text string, i int) int {
	col, quoted := 1, false
	for _, c := range []byte(text[:i]) {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			col++
		}
	}
	return col
}

// opens reports whether a record whose line is line, starting inside a
// quoted cell when inside, ends that line inside one: a quote opens a
// cell only at its start, so a stray quote mid-cell opens nothing.
func opens(line string, inside bool) bool {
	start := !inside
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inside && c == '"' && i+1 < len(line) && line[i+1] == '"':
			i++
		case inside && c == '"':
			inside = false
		case !inside && c == '"' && start:
			inside = true
		}
		start = !inside && c == ','
	}
	return inside
}

// split splits a record's text into cells. A quote inside a cell that is
// not in quotes, or text after a cell's closing quote, is an error naming
// the column.
func split(s string) ([]string, error) {
	var fields []string
	for col := 1; ; col++ {
		if !strings.HasPrefix(s, `"`) {
			cell, rest, more := strings.Cut(s, ",")
			if strings.Contains(cell, `"`) {
				return nil, fmt.Errorf("column %d has a quote inside a cell that is not in quotes: put the cell in quotes and double the quote (\"\")", col)
			}
			fields = append(fields, cell)
			if !more {
				return fields, nil
			}
			s = rest
			continue
		}
		var b strings.Builder
		i := 1
		for {
			j := strings.IndexByte(s[i:], '"')
			if j < 0 {
				return nil, errors.New("a quoted cell is never closed: a quote is missing, or one inside a cell is not doubled")
			}
			if end := i + j; end+1 < len(s) && s[end+1] == '"' {
				b.WriteString(s[i : end+1])
				i = end + 2
				continue
			}
			end := i + j
			if b.Len() == 0 {
				fields = append(fields, s[i:end])
			} else {
				b.WriteString(s[i:end])
				fields = append(fields, b.String())
			}
			s = s[end+1:]
			break
		}
		switch {
		case s == "":
			return fields, nil
		case s[0] != ',':
			return nil, fmt.Errorf("column %d has text after its closing quote: a quote inside a cell must be doubled (\"\")", col)
		}
		s = s[1:]
	}
}

// Lookahead reads on from where the reader is, calling fn with each
// record, until fn returns false or the file ends; then the reader goes
// back, and later Reads return those records again. What it reads ahead
// is kept in a temporary file, not in memory, so looking ahead over a
// file of any size takes no more memory than reading it. An error that
// makes the file unreadable (see Read) is returned as it is met.
func (r *Reader) Lookahead(fn func(Record) bool) error {
	f, err := os.CreateTemp("", "qm-lookahead-*")
	if err != nil {
		return fmt.Errorf("look ahead: %w", err)
	}
	// Where the system allows, the file goes now, while open, so that it
	// goes even if the reader is dropped half way.
	keep := &spoolFile{f: f, removed: os.Remove(f.Name()) == nil}
	line, pending := r.line, r.pending
	r.spool, r.pending = bufio.NewWriterSize(f, 64<<10), append([]string(nil), r.pending...)
	for err == nil {
		var rec Record
		if rec, err = r.Read(); err == nil && !fn(rec) {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err == nil {
		err = r.spool.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	r.spool = nil
	if err != nil {
		keep.close()
		return fmt.Errorf("look ahead: %w", err)
	}
	r.line, r.pending = line, pending
	r.src = bufio.NewReaderSize(io.MultiReader(keep, r.src), 64<<10)
	return nil
}

// spoolFile reads back what a look ahead read, and removes the file when
// it has been read (unless it is gone already).
type spoolFile struct {
	f       *os.File
	removed bool
}

func (s *spoolFile) Read(p []byte) (int, error) {
	n, err := s.f.Read(p)
	if errors.Is(err, io.EOF) {
		s.close()
	}
	return n, err
}

func (s *spoolFile) close() {
	s.f.Close()
	if !s.removed {
		os.Remove(s.f.Name())
	}
}

// lineEnds turns each CRLF, and each CR alone, into LF.
type lineEnds struct {
	r  io.Reader
	cr bool // the last byte read was a CR
}

func (l *lineEnds) Read(p []byte) (int, error) {
	for {
		n, err := l.r.Read(p)
		if !l.cr && bytes.IndexByte(p[:n], '\r') < 0 {
			return n, err
		}
		w := 0
		for _, c := range p[:n] {
			switch {
			case c == '\n' && l.cr:
				l.cr = false
				continue
			case c == '\r':
				l.cr, c = true, '\n'
			default:
				l.cr = false
			}
			p[w] = c
			w++
		}
		if w > 0 || err != nil || n == 0 {
			return w, err
		}
	}
}
