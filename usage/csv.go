package usage

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/quartermaster/qm"
)

// WriteCSV writes a month's usage lines as CSV, for billing: a header,
// then month, tenant, meter and value on each line.
func WriteCSV(w io.Writer, lines []qm.UsageLine) error {
	out := csv.NewWriter(w)
	out.Write([]string{"month", "tenant", "meter", "value"})
	for _, l := range lines {
		out.Write([]string{l.Month, l.Tenant, l.Meter, strconv.FormatInt(l.Value, 10)})
	}
	out.Flush()
	return out.Error()
}
