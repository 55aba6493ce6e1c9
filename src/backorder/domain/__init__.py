"""Pure domain: standard library only. Time and ids are passed in, never read here."""
