"""The data half of worldmodel: episode files (``episodes``), collecting them from the
envs (``collect``), training windows over them (``windows``) and summaries
(``inspect``)."""
