module vhvcorp.devtools/harness/pause

go 1.26.0
