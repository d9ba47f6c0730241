"""Products: matmul, einsum and what reduces to them (dot, tensordot, outer, inner, vdot).

    z = x1 @ x2              dL/dx1 = dy @ x2^T,   dL/dx2 = x1^T @ dy

(with ^T the swap of the last two axes; a batch axis broadcast over is summed by the tape).
einsum's VJP is another einsum: the gradient of one operand contracts dy with the others.
"""

from __future__ import annotations

import string

import numpy as np

from glassnet.autodiff import op
from glassnet.ops.arithmetic import multiply
from glassnet.ops.dtypes import promote
from glassnet.ops.shaping import reshape


def _swap(a):
    return np.swapaxes(a, -1, -2)


@op("x1", "x2")
def matmul(x1, x2):
    """The matrix product x1 @ x2 (NumPy's rules: 1-D operands, broadcast batch axes)."""
    x1, x2 = promote(x1, x2)
    return np.matmul(x1, x2), (x1, x2)


@matmul.vjp
def matmul_vjp(dy, x1, x2, needs):
    # A 1-D operand is a row (x1) or a column (x2) whose axis the product removed.
    a = x1[None, :] if x1.ndim == 1 else x1                  # (..., n, k)
    b = x2[:, None] if x2.ndim == 1 else x2                  # (..., k, m)
    if x2.ndim == 1:
        dy = np.expand_dims(dy, -1)
    if x1.ndim == 1:
        dy = np.expand_dims(dy, -2)                          # dy: (..., n, m)
    dx1 = dx2 = None
    if needs[0]:
        dx1 = dy @ _swap(b)                                  # (..., n, m) @ (..., m, k)
        dx1 = dx1[..., 0, :] if x1.ndim == 1 else dx1
    if needs[1]:
        dx2 = _swap(a) @ dy                                  # (..., k, n) @ (..., n, m)
        dx2 = dx2[..., 0] if x2.ndim == 1 else dx2
    return dx1, dx2


# ----- einsum -----------------------------------------------------------------------------
def _explicit(subscripts: str, shapes: list[tuple]) -> tuple[list[str], str]:
    """(input subscripts, output subscript) with '...' spelled out as capital letters and
    the implicit output ('ij,jk' means 'ij,jk->ik') made explicit."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got "
                         f"{len(shapes)}")
    spare = [c for c in string.ascii_uppercase if c not in subscripts][::-1]
    width = max((len(shape) - (len(term) - 3) for term, shape in zip(terms, shapes)
                 if "..." in term), default=0)
    ellipsis = "".join(spare[:width][::-1])                  # right-aligned broadcast axes
    spelled = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            count = len(shape) - (len(term) - 3)
            term = term.replace("...", ellipsis[len(ellipsis) - count:] if count else "")
        spelled.append(term)
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = "".join(spelled)
        output = ellipsis + "".join(sorted(c for c in set(letters) - set(ellipsis)
                                           if letters.count(c) == 1))
    return spelled, output


@op("operands")
def einsum(subscripts, *operands):
    """Einstein summation, as np.einsum: einsum("ij,jk->ik", a, b) is a @ b."""
    operands = promote(*operands)
    terms, output = _explicit(subscripts, [o.shape for o in operands])
    y = np.einsum(f"{','.join(terms)}->{output}", *operands,
                  optimize=len(operands) > 2)
    return y, (terms, output, operands)


@einsum.vjp
def einsum_vjp(dy, terms, output, operands, needs):
    grads = []
    for i, (term, operand) in enumerate(zip(terms, operands)):
        if not needs[0][i]:
            grads.append(None)
            continue
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum: no gradient for a repeated index in {term!r}")
        others = [(t, o) for j, (t, o) in enumerate(zip(terms, operands)) if j != i]
        present = set(output).union(*(set(t) for t, _ in others))
        kept = "".join(c for c in term if c in present)
        spec = ",".join([output] + [t for t, _ in others]) + "->" + kept
        grad = np.einsum(spec, dy, *[o for _, o in others], optimize=len(others) > 1)
        # indices summed in this operand alone: its gradient is constant along them
        grad = grad.reshape([n if c in kept else 1 for c, n in zip(term, operand.shape)])
        grads.append(np.broadcast_to(grad, operand.shape))
    return grads


# ----- composites ---------------------------------------------------------------------------
def tensordot(x1, x2, axes=2):
    """Sum of products over `axes` (an int: the last axes of x1 with the first of x2; or
    two lists of axes), as np.tensordot, through einsum."""
    n1, n2 = np.ndim(x1), np.ndim(x2)
    if isinstance(axes, (int, np.integer)):
        axes = (list(range(n1 - axes, n1)), list(range(int(axes))))
    axes1, axes2 = ([a] if isinstance(a, (int, np.integer)) else list(a) for a in axes)
    axes1 = [a % n1 for a in axes1]
    axes2 = [a % n2 for a in axes2]
    letters = iter(string.ascii_lowercase)
    term1 = [next(letters) for _ in range(n1)]
    term2 = [next(letters) for _ in range(n2)]
    for a1, a2 in zip(axes1, axes2):
        term2[a2] = term1[a1]
    output = [c for i, c in enumerate(term1) if i not in axes1] + \
             [c for i, c in enumerate(term2) if i not in axes2]
    return einsum(f"{''.join(term1)},{''.join(term2)}->{''.join(output)}", x1, x2)


def dot(x1, x2):
    """np.dot: a product for scalars, matmul up to 2-D, else the sum over x1's last axis
    and x2's second-to-last."""
    n1, n2 = np.ndim(x1), np.ndim(x2)
    if n1 == 0 or n2 == 0:
        return multiply(x1, x2)
    if n1 <= 2 and n2 <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([-1], [-2 if n2 > 1 else -1]))


def outer(x1, x2):
    """Every product x1[i] * x2[j] of the flattened inputs: (n,) x (m,) -> (n, m)."""
    return einsum("i,j->ij", _flat(x1), _flat(x2))


def inner(x1, x2):
    """The sum over the last axes of x1 and x2."""
    return tensordot(x1, x2, axes=([-1], [-1]))


def vdot(x1, x2):
    """The dot product of the flattened inputs."""
    return einsum("i,i->", _flat(x1), _flat(x2))


def _flat(x):
    return reshape(x, (-1,))


__all__ = ["dot", "einsum", "inner", "matmul", "outer", "tensordot", "vdot"]
