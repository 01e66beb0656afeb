"""Same-subject articles for the spun-copy evaluation's hard negatives, written for this project.

Three series a news archive is full of: the weather service's daily bulletins, one
club's match reports, one ministry's yearly conferences. Each article of a series
is drawn from the same phrases with its own date, figures, places and people, as
the real series are: same subject and much the same prose, a different event.
None of them may link to another (bench/spin_eval.py).
"""

from __future__ import annotations

import random

PROVINCES = ("Nghệ An", "Hà Tĩnh", "Quảng Bình", "Quảng Trị", "Thừa Thiên Huế", "Quảng Nam", "Quảng Ngãi",
             "Bình Định", "Phú Yên", "Khánh Hòa", "Lâm Đồng", "Gia Lai", "Kon Tum", "Đắk Lắk", "Sơn La", "Lào Cai",
             "Yên Bái", "Hà Giang", "Cao Bằng", "Lạng Sơn", "Thanh Hóa", "Ninh Bình", "Nam Định", "Thái Bình")
PEOPLE = ("Nguyễn Văn Hưởng", "Trần Quang Hoài", "Lê Thị Thu Hằng", "Phạm Minh Chính", "Hoàng Đức Cường",
          "Đỗ Văn Tuấn", "Vũ Thị Mai", "Bùi Quang Huy", "Đặng Ngọc Hân", "Ngô Thanh Sơn", "Dương Văn Khoa",
          "Lý Hoàng Nam", "Mai Tiến Dũng", "Trịnh Văn Quyết", "Hồ Đức Phớc", "Tạ Quang Bửu")
CLUBS = ("Hải Phòng", "Nam Định", "Thanh Hóa", "Sông Lam Nghệ An", "Becamex Bình Dương", "Hoàng Anh Gia Lai",
         "Công an Hà Nội", "Viettel", "Quảng Nam", "Bình Định", "Khánh Hòa", "Đà Nẵng", "Hồng Lĩnh Hà Tĩnh")
STADIUMS = ("Hàng Đẫy", "Thiên Trường", "Lạch Tray", "Vinh", "Gò Đậu", "Pleiku", "Quy Nhơn", "Hòa Xuân")


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 28)}-{rng.randint(1, 12)}"


def weather(rng: random.Random) -> str:
    a, b, c = rng.sample(PROVINCES, 3)
    low, high = rng.randint(12, 24), rng.randint(28, 39)
    rain = rng.randint(30, 250)
    return "\n".join([
        f"Dự báo thời tiết ngày {_date(rng)}: {a} và {b} {rng.choice(['có mưa rào và dông rải rác', 'nắng nóng gay gắt', 'mưa vừa đến mưa to', 'trời rét, có sương mù'])}",
        f"Theo Trung tâm Dự báo khí tượng thủy văn quốc gia, {rng.choice(['từ đêm nay', 'ngày mai', 'trong hai ngày tới', 'từ chiều nay'])} khu vực {a}, {b} và {c} "
        f"{rng.choice(['có mưa vừa, mưa to', 'có nắng nóng', 'có mưa rào và dông', 'trời chuyển rét'])} với lượng mưa phổ biến {rain} mm, "
        f"có nơi trên {rain + rng.randint(20, 100)} mm.",
        f"Nhiệt độ thấp nhất phổ biến {low} đến {low + 3} độ C, cao nhất {high} đến {high + 2} độ C. "
        f"{rng.choice(['Gió nhẹ.', 'Gió đông bắc cấp 3.', 'Gió tây nam cấp 2, cấp 3.', 'Gió giật mạnh trong cơn dông.'])}",
        f"Ông {rng.choice(PEOPLE)}, {rng.choice(['Giám đốc Trung tâm', 'Phó Giám đốc Trung tâm', 'Trưởng phòng Dự báo'])}, "
        f"cho biết {rng.choice(['đợt mưa này do ảnh hưởng của rãnh áp thấp', 'nắng nóng do vùng áp thấp nóng phía tây mở rộng', 'không khí lạnh tăng cường gây rét', 'hoàn lưu của áp thấp nhiệt đới gây mưa'])} "
        f"và sẽ kéo dài đến ngày {_date(rng)}.",
        f"Người dân vùng núi {c} {rng.choice(['cần đề phòng lũ quét, sạt lở đất', 'cần hạn chế ra ngoài vào buổi trưa', 'cần giữ ấm cho trẻ nhỏ và người già', 'cần theo dõi các bản tin tiếp theo'])}; "
        f"{rng.choice(['tàu thuyền hoạt động trên biển cần chú ý an toàn', 'nông dân cần bảo vệ cây trồng, vật nuôi', 'các địa phương cần chuẩn bị phương án ứng phó'])}. "
        f"Cấp độ rủi ro thiên tai do {rng.choice(['mưa lớn', 'nắng nóng', 'rét hại', 'dông, sét'])} ở cấp {rng.randint(1, 3)}.",
    ])


def match_report(rng: random.Random, club: str) -> str:
    other = rng.choice([c for c in CLUBS if c != club])
    goals, against = rng.randint(0, 4), rng.randint(0, 3)
    scorer, keeper, coach = rng.sample(PEOPLE, 3)
    minute, round_ = rng.randint(5, 88), rng.randint(1, 26)
    return "\n".join([
        f"{club} {goals}-{against} {other}: {rng.choice(['thế trận giằng co', 'chủ nhà áp đảo', 'bất ngờ trên sân nhà', 'ngược dòng ấn tượng'])}",
        f"Trên sân {rng.choice(STADIUMS)} tối {_date(rng)}, {club} tiếp đón {other} ở vòng {round_} V-League. "
        f"{rng.choice(['Đội chủ nhà nhập cuộc hứng khởi và sớm tạo ra nhiều cơ hội.', 'Hai đội chơi thận trọng trong hiệp một.', 'Đội khách chủ động dâng cao pressing ngay từ đầu.'])}",
        f"Phút {minute}, {scorer} {rng.choice(['đánh đầu cận thành', 'sút xa từ ngoài vòng cấm', 'dứt điểm chéo góc', 'đá phạt trực tiếp'])} "
        f"{rng.choice(['mở tỷ số', 'ghi bàn', 'làm tung lưới thủ thành', 'đưa bóng vào lưới'])} {keeper}. "
        f"{rng.choice(['Khán giả trên sân vỡ òa.', 'Ban huấn luyện đội khách phản ứng quyết liệt.', 'Bàn thắng được trọng tài công nhận sau khi kiểm tra VAR.'])}",
        f"Sau trận, huấn luyện viên {coach} cho biết {rng.choice(['các cầu thủ đã chơi đúng đấu pháp', 'đội bóng cần cải thiện khả năng dứt điểm', 'kết quả này là động lực cho các vòng tới', 'ông hài lòng với tinh thần thi đấu của học trò'])}. "
        f"Với kết quả này, {club} có {rng.randint(5, 45)} điểm sau {round_} trận, đứng thứ {rng.randint(1, 14)} trên bảng xếp hạng.",
        f"Ở vòng tiếp theo, {club} sẽ {rng.choice(['làm khách trên sân', 'tiếp đón', 'gặp'])} {rng.choice(CLUBS)} vào ngày {_date(rng)}.",
    ])


def conference(rng: random.Random, year: int) -> str:
    minister, deputy = rng.sample(PEOPLE, 2)
    growth, disbursed = rng.randint(2, 9), rng.randint(60, 98)
    return "\n".join([
        f"Bộ Nông nghiệp và Phát triển nông thôn tổng kết năm {year}, triển khai nhiệm vụ năm {year + 1}",
        f"Sáng {_date(rng)}-{year}, tại Hà Nội, Bộ Nông nghiệp và Phát triển nông thôn tổ chức hội nghị tổng kết công tác năm {year} "
        f"và triển khai nhiệm vụ năm {year + 1}. Bộ trưởng {minister} chủ trì hội nghị.",
        f"Báo cáo tại hội nghị, Thứ trưởng {deputy} cho biết tăng trưởng toàn ngành năm {year} đạt {growth},{rng.randint(1, 9)}%, "
        f"kim ngạch xuất khẩu nông lâm thủy sản đạt {rng.randint(40, 62)},{rng.randint(1, 9)} tỷ USD. "
        f"{rng.choice(['Lúa gạo, cà phê và thủy sản tiếp tục là những mặt hàng chủ lực.', 'Rau quả lần đầu vượt mốc xuất khẩu kỷ lục.', 'Chăn nuôi gặp nhiều khó khăn do dịch bệnh.'])}",
        f"Tỷ lệ giải ngân vốn đầu tư công của bộ đạt {disbursed}% kế hoạch. "
        f"{rng.choice(['Cả nước có thêm', 'Trong năm có'])} {rng.randint(200, 900)} xã đạt chuẩn nông thôn mới.",
        f"Phát biểu chỉ đạo, Bộ trưởng {minister} yêu cầu {rng.choice(['các đơn vị tập trung tháo gỡ vướng mắc cho doanh nghiệp', 'toàn ngành chủ động ứng phó với biến đổi khí hậu', 'đẩy mạnh chuyển đổi số trong quản lý'])} "
        f"và phấn đấu năm {year + 1} tăng trưởng {rng.randint(3, 4)},{rng.randint(0, 9)}%.",
    ])


def series(seed: int, per_series: int = 12) -> dict[str, dict[str, str]]:
    """Subject -> {key: article}: ``per_series`` different events on each subject."""
    rng = random.Random(seed)
    club = rng.choice(CLUBS)
    years = rng.sample(range(2008, 2026), per_series)
    return {
        "weather": {f"weather_{n:02d}": weather(rng) for n in range(per_series)},
        "match": {f"match_{n:02d}": match_report(rng, club) for n in range(per_series)},
        "conference": {f"conference_{n:02d}": conference(rng, years[n]) for n in range(per_series)},
    }
