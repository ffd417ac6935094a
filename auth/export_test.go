package auth

// Reads is how many times t read a token from the database.
func (t *Tokens) Reads() int64 { return t.reads.Load() }
