//! Legacy exception handling → standard exnref (skeleton, filled in next).
