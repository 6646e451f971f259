"""nbgrader configuration for the course; the repository root is nbgrader's course directory.

``solutions/<assignment>/`` holds the instructor sources and ``exercises/<assignment>/`` the
released student notebooks. ``submitted/``, ``autograded/``, ``feedback/`` and the gradebook
are instructor working data and are git-ignored.
"""

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# hidden.py (each assignment's hidden cases) never leaves the instructor's source folder: not
# released, not copied next to a student's notebook when grading
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "hidden.py"]

# Per-cell limit: the training cells of the sequence-models assignment take well under this.
c.Execute.timeout = 240
c.Execute.interrupt_on_timeout = True

# A test cell that writes to stderr scores zero; torch and ipykernel warnings must not count.
c.Execute.extra_arguments = ["--HistoryManager.enabled=False"]
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your code.")'
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# nbgrader's own generate_feedback (and the formgrader's feedback button) must not show hidden
# tests either: this preprocessor removes them, as `rnncourse grade` does.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "rnncourse.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
