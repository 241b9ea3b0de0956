package httpapi

import (
	"errors"
	"io/fs"
	"net/http"
	"os"

	"github.com/quartermaster/qm"
)

// pmtilesFile is a PMTiles archive of map tiles.
const pmtilesFile = mediaFile("application/vnd.pmtiles")

// pmtilesPath is where the configured PMTiles file is served.
const pmtilesPath = "/api/v1/map/tiles.pmtiles"

// mapConfig answers which map the console draws.
func (s *Server) mapConfig(w http.ResponseWriter, r *http.Request) error {
	c := mapConfig{StyleURL: s.cfg.MapStyleURL}
	if s.cfg.MapPMTiles != "" {
		c.PMTilesURL = pmtilesPath
	}
	return reply(w, http.StatusOK, c, nil)
}

var errNoTiles = qm.Errorf(qm.ENotFound, "this server serves no map tiles: start it with --map-pmtiles FILE")

// mapTiles serves the configured PMTiles file, answering range requests
// (a map reads the parts of the archive it shows).
func (s *Server) mapTiles(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.MapPMTiles == "" {
		return errNoTiles
	}
	f, err := os.Open(s.cfg.MapPMTiles)
	if errors.Is(err, fs.ErrNotExist) {
		return errNoTiles
	} else if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", string(pmtilesFile))
	w.Header().Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "tiles.pmtiles", st.ModTime(), f)
	return nil
}
