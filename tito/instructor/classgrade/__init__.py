"""Grading a whole class: jobs and results, the per-submission grader, local and Dask runners, the gradebook
writer, feedback and CSV export. One responsibility per file; only the parent process writes the gradebook."""
