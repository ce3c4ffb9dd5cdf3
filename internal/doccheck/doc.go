// Package doccheck holds the tests that keep the module's documentation
// true to its code: the README and the pages of docs/ (their links, the
// identifiers and packages they name, the commands they show, the program
// the README prints) and the doc links of every Go comment. It has no API;
// its tests are the point, and `go test ./internal/doccheck` runs them.
package doccheck
