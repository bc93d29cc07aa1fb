module rustls-ech/bench/go

go 1.25
