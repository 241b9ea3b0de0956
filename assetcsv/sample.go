package assetcsv

import (
	"bytes"
	"fmt"
)

// Sample returns a Snipe-IT asset export of rows made-up assets, each with
// a tag, a serial, a purchase date and a cost in dollars, naming 5
// categories, 11 manufacturers, 13 locations and 40 models: the file the
// import benchmarks read.
func Sample(rows int) []byte {
	var b bytes.Buffer
	b.WriteString("Item Name,Asset Tag,Category,Manufacturer,Location,Model Name,Serial Number,Purchase Date,Purchase Cost\n")
	for i := range rows {
		fmt.Fprintf(&b, "Item %d,T-%06d,Cat %d,Maker %d,Site %d,Model %d,S%08d,2024-03-%02d,\"$1,%03d.50\"\n",
			i, i, i%5, i%11, i%13, i%40, i, i%28+1, i%1000)
	}
	return b.Bytes()
}
