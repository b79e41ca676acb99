module github.com/procmon/procmon/bindings/go

go 1.22
