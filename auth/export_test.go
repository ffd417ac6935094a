package auth

// Reads is how many times t read a token from the database.
func (t *Tokens) Reads() int64 { return t.reads.Load() }

// SetAfterQuery has f run in every token read between its query and its
// use.
func (t *Tokens) SetAfterQuery(f func()) { t.afterQuery = f }
