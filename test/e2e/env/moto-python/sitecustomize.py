"""
Loaded by the Python that runs moto in the test environment (its directory is put first on
PYTHONPATH by moto.ts).

moto's EventBridge parses the JSONPath expressions of a rule target's input paths for every event
it delivers, and jsonpath_ng builds a new parser (its grammar's tables included) for every
expression it parses: over 10 ms per expression, most of moto's time once every ECR call publishes
an event. An expression parses to the same tree every time and finding matches does not change the
tree, so each distinct expression is parsed once and the tree reused. What moto answers and delivers
is unchanged.
"""
import functools

try:
    import jsonpath_ng.ext as _jsonpath_ext
except ImportError:  # a Python without moto: nothing to change
    _jsonpath_ext = None

if _jsonpath_ext is not None:
    _jsonpath_ext.parse = functools.lru_cache(maxsize=1024)(_jsonpath_ext.parse)
