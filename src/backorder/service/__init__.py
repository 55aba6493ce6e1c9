"""One public function per command, one transaction each."""
