from creator.code import extract_code, find_blocks, function_names, prose


def test_prose_before_the_fence_keeps_the_code():
    reply = (
        "Let me think about it first.\nHere is a tool:\n```python\ndef f(x):\n    return 2 * x\n```"
    )
    assert extract_code(reply) == "def f(x):\n    return 2 * x\n"


def test_several_blocks_are_joined_in_order():
    reply = "```python\na = 1\n```\ntext\n```\nb = a + 1\n```\nmore\n```py\nprint(b)\n```"
    assert extract_code(reply) == "a = 1\n\nb = a + 1\n\nprint(b)\n"


def test_bare_output_block_after_code_is_dropped():
    reply = "```python\nprint(5000)\n```\nOutput:\n```\nThe cost is $5000.00\n```"
    assert extract_code(reply) == "print(5000)\n"


def test_other_languages_are_not_code():
    assert extract_code("```text\nx = 1\n```") is None
    assert extract_code("```bash\npip install x\n```\n```python\nx = 1\n```") == "x = 1\n"


def test_whole_reply_is_code_when_it_parses():
    assert extract_code("import math\nprint(math.pi)") == "import math\nprint(math.pi)\n"


def test_prose_names_and_constants_are_not_code():
    assert extract_code("The answer is 42.") is None
    assert extract_code("hello") is None
    assert extract_code("42") is None
    assert extract_code("") is None


def test_unclosed_block_is_kept():
    reply = "```python\ndef f(x):\n    return x +"
    assert extract_code(reply) == "def f(x):\n    return x +\n"
    assert find_blocks(reply)[0].closed is False


def test_function_names():
    assert function_names("import os\ndef a(): pass\nclass B: pass\nx = 1") == ["a", "B"]
    assert function_names("def (:") == []


def test_a_block_labelled_as_output_is_not_code_even_when_tagged_python():
    reply = (
        "```python\nprint('Tom works', 5.05, 'hours')\n```\n"
        "Output:\n``` python\nTom works 5.05 hours\n```"
    )
    assert extract_code(reply) == "print('Tom works', 5.05, 'hours')\n"
    reply = "```python\nx = 1\n```\n**Expected output:**\n```\n1\n```"
    assert extract_code(reply) == "x = 1\n"


def test_a_label_that_is_not_about_output_keeps_the_block():
    reply = "Here is the result of my work:\n```python\nx = 1\n```"
    assert extract_code(reply) == "x = 1\n"


def test_prose_is_the_reply_outside_its_fenced_blocks():
    reply = "Intro\n```python\nx = 1\n```\nmiddle\n```\nout\n```\nend\n```py\ncut off"
    assert prose(reply).split() == ["Intro", "middle", "end"]
    assert prose("no fences here") == "no fences here"
