import pytest

from tests.compare import assert_same_rows

ROW = {"doc_id": "d1", "cand_id": "s0", "text": "Alpha won.", "gen_logprob_sum": -40.30764055}


def test_float_noise_of_another_thread_count_passes():
    assert_same_rows([ROW], [{**ROW, "gen_logprob_sum": -40.30764103}], floats=("gen_logprob_sum",))


@pytest.mark.parametrize("change", [{"text": "Alpha lost."}, {"cand_id": "s1"}, {"gen_logprob_sum": -40.31}])
def test_a_different_text_key_or_real_float_difference_fails(change):
    with pytest.raises(AssertionError):
        assert_same_rows([ROW], [{**ROW, **change}], floats=("gen_logprob_sum",))


def test_none_and_row_count_must_match():
    with pytest.raises(AssertionError):
        assert_same_rows([ROW], [{**ROW, "gen_logprob_sum": None}], floats=("gen_logprob_sum",))
    with pytest.raises(AssertionError):
        assert_same_rows([ROW], [ROW, ROW], floats=("gen_logprob_sum",))
