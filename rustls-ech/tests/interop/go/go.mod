module rustls-ech/interop/echclient

go 1.25
