"""A Vietnamese synonym list for the spun-copy evaluation: what a content farm's rewriter swaps.

Written for this project (no maintained Vietnamese synonym package is on the
registry): common words of news prose, each with a word a spinner puts in its
place. Names, numbers and dates are never in it: a spinner keeps them, which is
what the second near-duplicate signal relies on (docs/near-duplicates.md). Each
pair works both ways (:data:`SWAPS`).
"""

from __future__ import annotations

PAIRS = """
tổ chức|tiến hành; triển khai|thực hiện; lãnh đạo|chỉ đạo; nhiệm vụ|công việc; bảo đảm|đảm bảo;
nâng cao|tăng cường; đơn vị|cơ quan; công tác|hoạt động; cho biết|thông tin; người dân|bà con;
khó khăn|trở ngại; kết quả|thành quả; phát triển|tăng trưởng; tham gia|góp mặt; kiểm tra|rà soát;
quan trọng|trọng yếu; hoàn thành|làm xong; xây dựng|kiến thiết; chủ động|tích cực; hiệu quả|hữu hiệu;
sử dụng|dùng; khu vực|vùng; địa phương|cơ sở; các|những; nhiều|lắm; cùng|với; tốt|hay; lớn|to;
mới|vừa; sẽ|sắp; trong|ở; rất|hết sức; nhằm|để; tại|ở tại; cũng|đồng thời; đến|tới; khi|lúc;
nhưng|song; vì|bởi; nếu|giả sử; do|bởi vì; theo|dựa theo; sau|tiếp sau; trước|trước đó; gần|sát;
hiện nay|bây giờ; hiện|đang; ngày|hôm; tuy nhiên|dẫu vậy; ngoài ra|bên cạnh đó; đặc biệt|nhất là;
thời gian|khoảng thời gian; vấn đề|chuyện; tình hình|tình trạng; giải pháp|biện pháp; mục tiêu|đích đến;
kế hoạch|dự kiến; chương trình|kế hoạch hành động; chính sách|đường lối; quy định|quy chế; yêu cầu|đề nghị;
đề xuất|kiến nghị; ý kiến|quan điểm; đánh giá|nhận định; khẳng định|quả quyết; nhấn mạnh|lưu ý;
bày tỏ|thể hiện; cho rằng|nhận xét; phát biểu|nói; chia sẻ|tâm sự; giới thiệu|trình bày; báo cáo|trình báo;
hỗ trợ|giúp đỡ; tạo điều kiện|giúp; thúc đẩy|đẩy mạnh; tăng|gia tăng; giảm|hạ; nhanh|mau; chậm|trễ;
mạnh|khỏe; yếu|kém; đúng|chuẩn; sai|nhầm; đầy đủ|trọn vẹn; cụ thể|chi tiết; chung|tổng thể;
riêng|cá biệt; toàn bộ|tất cả; nhiều người|đông người; người|con người; cán bộ|nhân viên; chiến sĩ|binh sĩ;
bộ đội|quân nhân; nhân dân|dân chúng; cộng đồng|tập thể; gia đình|nhà; trẻ em|con trẻ; học sinh|học trò;
sinh viên|người học; giáo viên|thầy cô; bệnh nhân|người bệnh; bác sĩ|thầy thuốc; doanh nghiệp|công ty;
thị trường|chợ; sản phẩm|mặt hàng; hàng hóa|vật phẩm; giá|giá cả; tiền|kinh phí; vốn|nguồn vốn;
đầu tư|rót vốn; kinh tế|nền kinh tế; xã hội|cộng đồng xã hội; văn hóa|nền văn hóa; giáo dục|đào tạo;
an toàn|an ninh; nguy hiểm|hiểm nguy; nguy cơ|rủi ro; thiệt hại|tổn thất; ảnh hưởng|tác động;
nguyên nhân|lý do; hậu quả|hệ quả; sự việc|vụ việc; sự kiện|dịp; hoạt động|công tác; buổi|cuộc;
hội nghị|cuộc họp; cuộc họp|phiên họp; lễ|nghi lễ; khai mạc|mở màn; bế mạc|khép lại; kết thúc|chấm dứt;
bắt đầu|khởi đầu; tiếp tục|tiếp tục duy trì; duy trì|giữ vững; giữ|gìn giữ; bảo vệ|che chở;
phòng chống|ngăn ngừa; ngăn chặn|chặn đứng; xử lý|giải quyết; giải quyết|xử trí; khắc phục|sửa chữa;
cải thiện|cải tiến; đổi mới|cách tân; thay đổi|biến đổi; điều chỉnh|sửa đổi; bổ sung|thêm vào;
mở rộng|nới rộng; thu hẹp|rút gọn; tập trung|dồn sức; phối hợp|kết hợp; liên kết|gắn kết; hợp tác|cộng tác;
trao đổi|bàn bạc; thảo luận|bàn thảo; thống nhất|nhất trí; quyết định|định đoạt; phê duyệt|chấp thuận;
cho phép|đồng ý; từ chối|khước từ; công bố|tuyên bố; thông báo|loan báo; cập nhật|bổ sung thông tin;
ghi nhận|nhận thấy; phát hiện|tìm ra; điều tra|truy xét; bắt giữ|tạm giữ; vi phạm|sai phạm;
pháp luật|luật pháp; quy trình|trình tự; thủ tục|giấy tờ; hồ sơ|tài liệu; văn bản|giấy tờ văn bản;
thông tin|tin tức; dữ liệu|số liệu; con số|số lượng; tỷ lệ|mức; mức độ|cấp độ; quy mô|tầm cỡ;
chất lượng|phẩm chất; số lượng|lượng; phần lớn|đa số; một số|vài; hầu hết|gần như tất cả; tất cả|mọi;
mỗi|từng; khác|khác nhau; giống|tương tự; như|giống như; cũng như|và cả; bao gồm|gồm có; có|sở hữu;
không|chẳng; chưa|vẫn chưa; đã|từng; vừa qua|mới đây; gần đây|thời gian qua; sắp tới|tới đây;
năm nay|năm hiện tại; năm ngoái|năm trước; hàng năm|thường niên; thường xuyên|liên tục; luôn|luôn luôn;
nhanh chóng|khẩn trương; kịp thời|đúng lúc; cấp bách|khẩn cấp; cần thiết|thiết yếu; phù hợp|thích hợp;
hợp lý|hợp lẽ; rõ ràng|minh bạch; công khai|minh bạch hóa; nghiêm túc|chặt chẽ; nghiêm trọng|trầm trọng;
đáng kể|đáng chú ý; nổi bật|nổi trội; tích cực|năng nổ; tiêu cực|xấu; thành công|thắng lợi; thất bại|thua cuộc;
chiến thắng|giành thắng lợi; trận đấu|cuộc đấu; đội|đội bóng; cầu thủ|tuyển thủ; huấn luyện viên|thầy;
khán giả|người xem; giải|giải đấu; bàn thắng|pha lập công; ghi bàn|lập công; thời tiết|khí hậu;
mưa|mưa rào; nắng|nắng nóng; nhiệt độ|nền nhiệt; gió|luồng gió; bão|cơn bão; lũ|nước lũ; ngập|ngập úng;
sạt lở|lở đất; dự báo|dự đoán; cảnh báo|khuyến cáo; đường|con đường; cầu|cây cầu; công trình|hạng mục;
dự án|đề án; thi công|xây lắp; nhà thầu|đơn vị thi công; tiến độ|nhịp độ; giao thông|đi lại;
phương tiện|xe cộ; lưu thông|di chuyển; di chuyển|đi lại; đi|đến; về|trở về; ra|đi ra; vào|đi vào;
lên|tăng lên; xuống|giảm xuống; mua|sắm; bán|bán ra; sản xuất|chế tạo; xuất khẩu|bán ra nước ngoài;
nhập khẩu|mua từ nước ngoài; nông sản|sản phẩm nông nghiệp; nông dân|bà con nông dân; du lịch|lữ hành;
du khách|khách du lịch; tham quan|thăm thú; nơi|chỗ; địa điểm|vị trí; khu|vùng khu; thành phố|đô thị;
tỉnh|địa bàn tỉnh; huyện|địa bàn huyện; xã|địa bàn xã; nước|quốc gia; trên cả nước|khắp cả nước;
thế giới|toàn cầu; quốc tế|thế giới; trong nước|nội địa; nước ngoài|ngoại quốc; bộ|bộ ngành; ngành|lĩnh vực;
lĩnh vực|mảng; chính quyền|nhà chức trách; lực lượng|đội ngũ; đội ngũ|lực lượng nhân sự; quân đội|quân ngũ;
công an|cảnh sát; nhà nước|chính phủ; đảng|tổ chức đảng; đại biểu|đại diện; đại diện|người đại diện;
giám đốc|người đứng đầu; chủ tịch|người đứng đầu; phó|cấp phó; trưởng|người đứng đầu đơn vị;
ông|ngài; bà|quý bà; anh|chàng; chị|cô; em|bé; cho|dành cho; với|cùng với; để|nhằm mục đích;
bởi|vì; từ|kể từ; bằng|thông qua; qua|thông qua; về việc|liên quan đến; đối với|với; trên|phía trên;
dưới|phía dưới; giữa|ở giữa; ngoài|bên ngoài; sâu|sâu sắc; cao|cao cả; thấp|kém; dài|lâu; ngắn|ngắn gọn;
rộng|rộng lớn; hẹp|chật; nhỏ|bé nhỏ; đông|đông đúc; ít|hiếm; đủ|đầy đủ; thêm|thêm nữa; hơn|nhiều hơn;
nhất|hơn cả; vui mừng|phấn khởi; lo lắng|băn khoăn; mong muốn|kỳ vọng; hy vọng|mong đợi; cố gắng|nỗ lực;
nỗ lực|cố gắng hết sức; quan tâm|chú ý; chú trọng|coi trọng; ưu tiên|đặt lên hàng đầu; cần|phải;
phải|buộc phải; nên|cần phải; có thể|có khả năng; được|đã được; bị|phải chịu; gây|gây ra; làm|khiến;
giúp|giúp đỡ; góp phần|đóng góp; đóng góp|cống hiến; trao|trao tặng; nhận|tiếp nhận; gửi|chuyển;
đưa|chuyển; đưa ra|nêu ra; nêu|chỉ ra; nói|cho hay; hỏi|chất vấn; trả lời|đáp lời; tìm|tìm kiếm;
thấy|nhận thấy; biết|nắm được; hiểu|thấu hiểu; học|học tập; dạy|giảng dạy; làm việc|công tác tại;
sống|sinh sống; chết|tử vong; bệnh|căn bệnh; điều trị|chữa trị; khám|thăm khám; sức khỏe|thể trạng;
bệnh viện|cơ sở y tế; y tế|ngành y; thuốc|dược phẩm; nghiên cứu|tìm hiểu; khoa học|khoa học kỹ thuật;
công nghệ|kỹ thuật; kỹ thuật|công nghệ kỹ thuật; hệ thống|mạng lưới; thiết bị|máy móc; máy móc|trang thiết bị;
điện|năng lượng điện; nước sạch|nước sinh hoạt; môi trường|cảnh quan; rác|chất thải; ô nhiễm|nhiễm bẩn;
đất|đất đai; nhà ở|chỗ ở; cuộc sống|đời sống; đời sống|sinh hoạt; thu nhập|lợi tức; việc làm|công ăn việc làm;
lao động|người lao động; nhân lực|nguồn nhân lực; sáng|buổi sáng; chiều|buổi chiều; tối|buổi tối;
đêm|ban đêm; tuần|tuần lễ; tháng|tháng trời; lần|lượt; đợt|đợt này; phần|bộ phận; trường hợp|tình huống;
điều kiện|hoàn cảnh; cơ hội|thời cơ; thách thức|khó khăn thử thách; tiềm năng|khả năng; lợi thế|ưu thế;
hạn chế|khuyết điểm; tồn tại|bất cập; yếu tố|nhân tố; vai trò|vị trí vai trò; trách nhiệm|bổn phận;
quyền lợi|lợi ích; lợi ích|quyền lợi chính đáng; mục đích|ý định; ý nghĩa|giá trị; giá trị|tầm quan trọng
"""


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in spec.replace("\n", " ").split(";"):
        if "|" in item:
            left, right = (" ".join(side.split()) for side in item.split("|"))
            pairs.append((left, right))
    return pairs


SYNONYM_PAIRS: list[tuple[str, str]] = _pairs(PAIRS)
# Word (lower-cased syllables) -> what replaces it; a word listed twice keeps its first partner.
SWAPS: dict[str, str] = {}
for _left, _right in SYNONYM_PAIRS:
    SWAPS.setdefault(_left, _right)
    SWAPS.setdefault(_right, _left)
# The longest word in the list, in syllables: how far the spinner looks ahead.
LONGEST = max(len(word.split()) for word in SWAPS)
